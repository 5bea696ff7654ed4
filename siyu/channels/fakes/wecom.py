"""A fake WeCom API: ``gettoken`` and the company mass-message API ``externalcontact/add_msg_template``.

Tokens behave like WeCom's (path/91039): one per app, the same token again while it is valid, a new
one after it expired; a missing token is answered with 41001, an unknown or revoked one with 40014
(WeCom "may end a token early"), an expired one with 42001. A bad corp id is 40013, a bad secret
40001. A task (``chat_type: single``) is recorded with what went over the wire; its customers that
can't receive it come back in ``fail_list`` as WeCom does: not a contact of the sender (when
contacts are checked), or past the per-customer receive limit — as many a month as the month has
days by default, 7 a week or 1 a day when the admin chose so (path/92135; counted on this server's
clock in Beijing time). Any errcode can be scripted for the next calls or for one customer.
"""

from __future__ import annotations

import calendar
import itertools
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from siyu.channels.fakes.server import LoopbackServer, Request

BEIJING = ZoneInfo("Asia/Shanghai")
ERRMSG = {
    -1: "system busy", 40001: "invalid secret", 40003: "invalid userid", 40013: "invalid corpid",
    40014: "invalid access_token", 40058: "invalid parameter", 40096: "invalid external userid",
    41001: "access_token missing", 42001: "access_token expired", 45009: "api freq out of limit",
    45033: "api concurrent out of limit", 48002: "api forbidden", 60020: "not allow to access from your ip",
    84061: "not external contact",
}
LIMITS = ("month", "week", "day")  # 群发助手 → 设置群发规则


@dataclass
class _Token:
    corpid: str
    expires_at: float
    revoked: bool = False


@dataclass(frozen=True)
class ReceivedWeCom:
    corpid: str
    sender: str
    external_userids: tuple[str, ...]  # the customers the task reaches (fail_list left out)
    body: dict[str, Any]
    raw: bytes  # the bytes on the wire
    msgid: str
    at: float


class FakeWeCom(LoopbackServer):
    """``apps`` maps corp ids to the secret of their customer-contact app. ``members``: the staff
    userids that exist (any, when None). ``check_contacts``: only customers added with
    :meth:`add_contact` are reachable, and only from their owners; the sandbox turns it off."""

    def __init__(self, apps: Mapping[str, str], *, members: Iterable[str] | None = None,
                 check_contacts: bool = True, limit: str = "month", token_lifetime: int = 7200,
                 now: Callable[[], float] = time.time, host: str = "127.0.0.1", port: int = 0) -> None:
        if limit not in LIMITS:
            raise ValueError(f"limit must be one of {', '.join(LIMITS)}")
        self.apps = dict(apps)
        self.members = None if members is None else set(members)
        self.check_contacts = check_contacts
        self.limit = limit
        self.token_lifetime = token_lifetime
        self.now = now
        self.received: list[ReceivedWeCom] = []
        self.failed: list[tuple[str, str]] = []  # (external_userid, why) of every fail_list entry
        self.refused: list[int] = []  # errcodes answered to sends with a valid token
        self.token_fetches: list[str] = []  # corp ids
        self.token_refusals: list[int] = []
        self._tokens: dict[str, _Token] = {}
        self._current: dict[str, str] = {}
        self._contacts: dict[str, set[str]] = {}
        self._external_errors: dict[str, int] = {}
        self._scripted: list[int] = []
        self._msgids = itertools.count(1)
        super().__init__(host, port)

    # --- what tests and the sandbox tell it -----------------------------------------------------

    def add_contact(self, external_userid: str, userid: str) -> None:
        """``userid`` (a member) added the customer ``external_userid``."""
        with self.lock:
            self._contacts.setdefault(external_userid, set()).add(userid)

    def fail_external(self, external_userid: str, errcode: int) -> None:
        """Answer every task for this customer with ``errcode``."""
        with self.lock:
            self._external_errors[external_userid] = errcode

    def fail_next(self, *errcodes: int) -> None:
        """Answer the next sends (with a valid token) with these errcodes, in order."""
        with self.lock:
            self._scripted.extend(errcodes)

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, self.now() - 1)

    def revoke_tokens(self) -> None:
        """WeCom ended every token early (40014 from now on)."""
        with self.lock:
            for token in self._tokens.values():
                token.revoked = True

    def received_by(self, external_userid: str) -> list[ReceivedWeCom]:
        with self.lock:
            return [task for task in self.received if external_userid in task.external_userids]

    # --- the API ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, Any]:
        with self.lock:
            if request.path == "/cgi-bin/gettoken" and request.method == "GET":
                return 200, self._issue(request.query)
            if request.path == "/cgi-bin/externalcontact/add_msg_template" and request.method == "POST":
                return 200, self._add_msg_template(request)
            return 404, {"errcode": 404, "errmsg": "not found"}

    @staticmethod
    def _error(errcode: int, **extra: Any) -> dict[str, Any]:
        return {"errcode": errcode, "errmsg": f"{ERRMSG.get(errcode, 'error')}, hint: [{secrets.token_hex(8)}]",
                **extra}

    def _issue(self, params: Mapping[str, str]) -> dict[str, Any]:
        corpid = params.get("corpid", "")
        if corpid not in self.apps:
            return self._error(40013)
        if params.get("corpsecret") != self.apps[corpid]:
            return self._error(40001)
        self.token_fetches.append(corpid)
        now = self.now()
        current = self._tokens.get(self._current.get(corpid, ""))
        if current is not None and not current.revoked and current.expires_at > now:
            return {"errcode": 0, "errmsg": "ok", "access_token": self._current[corpid],
                    "expires_in": int(current.expires_at - now)}
        token = secrets.token_urlsafe(48)
        self._tokens[token] = _Token(corpid, now + self.token_lifetime)
        self._current[corpid] = token
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_lifetime}

    def _add_msg_template(self, request: Request) -> dict[str, Any]:
        given = request.query.get("access_token", "")
        token = self._tokens.get(given)
        refusal = (41001 if not given else 40014 if token is None or token.revoked
                   else 42001 if token.expires_at <= self.now() else 0)
        if refusal or token is None:
            self.token_refusals.append(refusal)
            return self._error(refusal)
        try:
            body = request.json()
        except ValueError:
            return self._error(40058)
        errcode = self._scripted.pop(0) if self._scripted else self._check(body)
        if errcode:
            self.refused.append(errcode)
            return self._error(errcode, fail_list=[])
        sender, customers = body["sender"], body["external_userid"]
        reached, fail_list = [], []
        for external_userid in customers:
            why = ("not a contact of the sender" if self.check_contacts
                   and sender not in self._contacts.get(external_userid, set())
                   else "past the customer's mass-message limit" if self._at_limit(external_userid) else None)
            if why:
                fail_list.append(external_userid)
                self.failed.append((external_userid, why))
            else:
                reached.append(external_userid)
        msgid = f"msg{token.corpid[-6:]}{next(self._msgids):08d}"
        if reached:
            self.received.append(ReceivedWeCom(token.corpid, sender, tuple(reached), body, request.body, msgid,
                                               self.now()))
        return {"errcode": 0, "errmsg": "ok", "fail_list": fail_list, "msgid": msgid}

    def _check(self, body: Any) -> int:
        if not isinstance(body, dict) or body.get("chat_type", "single") != "single":
            return 40058
        customers = body.get("external_userid")
        if not isinstance(customers, list) or not customers or not all(isinstance(c, str) and c for c in customers):
            return 40058
        for external_userid in customers:
            if external_userid in self._external_errors:
                return self._external_errors[external_userid]
        sender = body.get("sender")
        if not isinstance(sender, str) or not sender or (self.members is not None and sender not in self.members):
            return 40003
        if not body.get("text") and not body.get("attachments"):
            return 40058
        return 0

    def _at_limit(self, external_userid: str) -> bool:
        now = datetime.fromtimestamp(self.now(), UTC).astimezone(BEIJING)
        days = calendar.monthrange(now.year, now.month)[1]
        allowed, same_period = {
            "month": (days, lambda then: (then.year, then.month) == (now.year, now.month)),
            "week": (7, lambda then: then.isocalendar()[:2] == now.isocalendar()[:2]),
            "day": (1, lambda then: then.date() == now.date()),
        }[self.limit]
        times = [datetime.fromtimestamp(task.at, UTC).astimezone(BEIJING) for task in self.received
                 if external_userid in task.external_userids]
        return sum(1 for then in times if same_period(then)) >= allowed
