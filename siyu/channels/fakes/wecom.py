"""A fake WeCom API: ``gettoken``, the company mass-message API ``externalcontact/add_msg_template``
(to customers and to customer groups), the customer-group detail ``externalcontact/groupchat/get`` and
a customer's detail ``externalcontact/get`` (path/92114).

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
from siyu.channels.fakes.tokens import Token, TokenControls

BEIJING = ZoneInfo("Asia/Shanghai")
ERRMSG = {
    -1: "system busy", 40001: "invalid secret", 40003: "invalid userid", 40013: "invalid corpid",
    40014: "invalid access_token", 40058: "invalid parameter", 40096: "invalid external userid",
    41001: "access_token missing", 42001: "access_token expired", 45009: "api freq out of limit",
    45033: "api concurrent out of limit", 48002: "api forbidden", 60020: "not allow to access from your ip",
    84061: "not external contact", 41051: "welcome_code used or expired", 40050: "chatid not found",
}
LIMITS = ("month", "week", "day")  # 群发助手 → 设置群发规则
# Customer hand-overs (path/92125, path/96331, path/94088) and contact ways (path/92228).
CONTACT_APIS = ("externalcontact/transfer_customer", "externalcontact/resigned/transfer_customer",
                "externalcontact/transfer_result", "externalcontact/resigned/transfer_result",
                "externalcontact/add_contact_way", "externalcontact/update_contact_way")
TAKEOVER_SECONDS = 24 * 3600  # a hand-over completes 24 h after it started, unless the customer refuses


@dataclass(frozen=True)
class ReceivedWeCom:
    corpid: str
    sender: str
    external_userids: tuple[str, ...]  # the customers the task reaches (fail_list left out)
    body: dict[str, Any]
    raw: bytes  # the bytes on the wire
    msgid: str
    at: float


@dataclass(frozen=True)
class ReceivedWeComGroupTask:
    corpid: str
    sender: str
    chat_ids: tuple[str, ...]  # the groups the task reaches (groups past their limit left out)
    body: dict[str, Any]
    raw: bytes
    msgid: str
    at: float


class FakeWeCom(TokenControls, LoopbackServer):
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
        self._tokens: dict[str, Token] = {}
        self._current: dict[str, str] = {}
        self._contacts: dict[str, set[str]] = {}
        self._external_errors: dict[str, int] = {}
        self._scripted: list[int] = []
        self._msgids = itertools.count(1)
        self.welcomes: list[dict[str, Any]] = []  # send_welcome_msg bodies accepted (each code works once)
        # hand-overs: (resigned?, handover, takeover) -> external_userid -> [started_at, status]
        self.transfers: dict[tuple[bool, str, str], dict[str, list[Any]]] = {}
        self.transfer_bodies: list[dict[str, Any]] = []  # what transfer_customer calls carried
        self.refusing: set[str] = set()  # customers who will refuse a hand-over (status 3)
        self.contact_ways: dict[str, dict[str, Any]] = {}  # config_id -> add_contact_way's body + updates
        self._group_chats: dict[str, dict[str, Any]] = {}  # chat id -> groupchat/get's group_chat
        self.group_tasks: list[ReceivedWeComGroupTask] = []  # add_msg_template with chat_type group
        self._contact_details: dict[str, dict[str, Any]] = {}  # external_userid -> external_contact
        self.contact_lookups: list[str] = []  # external_userids asked with externalcontact/get
        super().__init__(host, port)

    # --- what tests and the sandbox tell it -----------------------------------------------------

    def add_contact(self, external_userid: str, userid: str) -> None:
        """``userid`` (a member) added the customer ``external_userid``."""
        with self.lock:
            self._contacts.setdefault(external_userid, set()).add(userid)

    def set_contact_details(self, external_userid: str, *, name: str, unionid: str | None = None,
                            contact_type: int = 1, **extra: Any) -> None:
        """What ``externalcontact/get`` answers for the customer: ``unionid`` only for a WeChat user
        (``contact_type`` 1) of a corp bound to a WeChat open platform — leave it out otherwise."""
        with self.lock:
            self._contact_details[external_userid] = {
                "external_userid": external_userid, "name": name, "type": contact_type, "gender": 0,
                "avatar": f"{self.url}/avatar/{external_userid}.png",
                **({"unionid": unionid} if unionid and contact_type == 1 else {}), **extra}

    def fail_external(self, external_userid: str, errcode: int) -> None:
        """Answer every task for this customer with ``errcode``."""
        with self.lock:
            self._external_errors[external_userid] = errcode

    def set_group_chat(self, chat_id: str, *, name: str, owner: str, members: Iterable[Mapping[str, Any]],
                       create_time: int = 1_700_000_000, notice: str = "") -> None:
        """The customer group ``chat_id`` as ``groupchat/get`` returns it (path/92122): ``members`` are
        member_list entries (``userid``, ``type`` 1 staff / 2 external, ``join_time``, ``join_scene``,
        ``invitor``?, ``unionid``?, ``name``, ``group_nickname``?)."""
        with self.lock:
            listed = [dict(member) for member in members]
            self._group_chats[chat_id] = {
                "chat_id": chat_id, "name": name, "owner": owner, "create_time": create_time, "notice": notice,
                "member_list": listed, "admin_list": [],
                "member_version": secrets.token_hex(16)}

    def drop_group_chat(self, chat_id: str) -> None:
        """The group was dismissed: ``groupchat/get`` answers 40050 (invalid chat id) from now on."""
        with self.lock:
            self._group_chats.pop(chat_id, None)

    def group_tasks_for(self, chat_id: str) -> list[ReceivedWeComGroupTask]:
        with self.lock:
            return [task for task in self.group_tasks if chat_id in task.chat_ids]

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
            if request.path == "/cgi-bin/externalcontact/send_welcome_msg" and request.method == "POST":
                return 200, self._send_welcome_msg(request)
            if request.path == "/cgi-bin/externalcontact/groupchat/get" and request.method == "POST":
                return 200, self._group_chat(request)
            if request.path == "/cgi-bin/externalcontact/get" and request.method == "GET":
                return 200, self._get_contact(request)
            if request.path.removeprefix("/cgi-bin/") in CONTACT_APIS and request.method == "POST":
                return 200, self._contact_api(request)
            return 404, {"errcode": 404, "errmsg": "not found"}

    def _get_contact(self, request: Request) -> dict[str, Any]:
        """externalcontact/get (path/92114): the contact and the members who added them (follow_user);
        84061 when no member has the customer (with contacts checked); a contact without
        :meth:`set_contact_details` is a WeChat user of a corp not bound to an open platform.
        Scripted errcodes (:meth:`fail_next`) come first, and :meth:`fail_external` applies too."""
        token = self._valid_token(request)
        if isinstance(token, int):
            return self._error(token)
        external_userid = request.query.get("external_userid", "")
        self.contact_lookups.append(external_userid)
        if self._scripted:
            errcode = self._scripted.pop(0)
            self.refused.append(errcode)
            return self._error(errcode)
        if external_userid in self._external_errors:
            return self._error(self._external_errors[external_userid])
        owners = self._contacts.get(external_userid, set())
        if self.check_contacts and not owners:
            return self._error(84061)
        contact = self._contact_details.get(external_userid) or {
            "external_userid": external_userid, "name": external_userid, "type": 1, "gender": 0}  # no unionid
        follow_user = [{"userid": userid, "remark": "", "description": "", "createtime": int(self.now()),
                        "tags": [], "add_way": 1} for userid in sorted(owners)]
        return {"errcode": 0, "errmsg": "ok", "external_contact": dict(contact), "follow_user": follow_user,
                "next_cursor": ""}

    def _send_welcome_msg(self, request: Request) -> dict[str, Any]:
        """send_welcome_msg (path/92137): a welcome code from the add event, used once, with text and / or
        up to 9 attachments; a used code is refused (41051 here)."""
        token = self._tokens.get(request.query.get("access_token", ""))
        if token is None or token.revoked or token.expires_at <= self.now():
            return self._error(40014 if token is None or token.revoked else 42001)
        try:
            body = request.json()
        except ValueError:
            return self._error(40058)
        code = body.get("welcome_code") if isinstance(body, dict) else None
        if not isinstance(code, str) or not code or not (body.get("text") or body.get("attachments")):
            return self._error(40058)
        if any(sent["welcome_code"] == code for sent in self.welcomes):
            return self._error(41051)
        self.welcomes.append(body)
        return {"errcode": 0, "errmsg": "ok"}

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
        self._tokens[token] = Token(corpid, now + self.token_lifetime)
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
        if isinstance(body, dict) and body.get("chat_type") == "group":
            return self._add_group_task(token, body, request.body)
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
        msgid = f"msg{token.owner[-6:]}{next(self._msgids):08d}"
        if reached:
            self.received.append(ReceivedWeCom(token.owner, sender, tuple(reached), body, request.body, msgid,
                                               self.now()))
        return {"errcode": 0, "errmsg": "ok", "fail_list": fail_list, "msgid": msgid}

    def _valid_token(self, request: Request) -> Token | int:
        given = request.query.get("access_token", "")
        token = self._tokens.get(given)
        refusal = (41001 if not given else 40014 if token is None or token.revoked
                   else 42001 if token.expires_at <= self.now() else 0)
        if refusal or token is None:
            self.token_refusals.append(refusal)
            return refusal
        return token

    def _group_chat(self, request: Request) -> dict[str, Any]:
        token = self._valid_token(request)
        if isinstance(token, int):
            return self._error(token)
        if self._scripted:
            errcode = self._scripted.pop(0)
            self.refused.append(errcode)
            return self._error(errcode)
        try:
            body = request.json()
        except ValueError:
            return self._error(40058)
        chat = self._group_chats.get(body.get("chat_id", "")) if isinstance(body, dict) else None
        if chat is None:
            return self._error(40050)
        need_name = isinstance(body, dict) and body.get("need_name") == 1
        listed = [member if need_name else {k: v for k, v in member.items() if k != "name"}
                  for member in chat["member_list"]]
        return {"errcode": 0, "errmsg": "ok", "group_chat": {**chat, "member_list": listed}}

    def _add_group_task(self, token: Token, body: dict[str, Any], raw: bytes) -> dict[str, Any]:
        """A group task (path/92135): ``sender`` required, ``chat_id_list`` ≤ 2,000 of the sender's
        groups; a group past its receive limit is left out silently, as WeCom does."""
        if self._scripted:
            errcode = self._scripted.pop(0)
            self.refused.append(errcode)
            return self._error(errcode)
        sender, chat_ids = body.get("sender"), body.get("chat_id_list")
        if not isinstance(sender, str) or not sender or (self.members is not None and sender not in self.members):
            return self._error(40003)
        if (not isinstance(chat_ids, list) or not chat_ids or len(chat_ids) > 2000
                or not (body.get("text") or body.get("attachments"))):
            return self._error(40058)
        owned = [chat_id for chat_id in chat_ids if self._group_chats.get(chat_id, {}).get("owner") == sender]
        reached = tuple(chat_id for chat_id in owned if not self._group_at_limit(chat_id))
        msgid = f"msg{token.owner[-6:]}{next(self._msgids):08d}"
        self.group_tasks.append(ReceivedWeComGroupTask(token.owner, sender, reached, body, raw, msgid, self.now()))
        return {"errcode": 0, "errmsg": "ok", "fail_list": [], "msgid": msgid}

    def _group_at_limit(self, chat_id: str) -> bool:
        times = [task.at for task in self.group_tasks if chat_id in task.chat_ids]
        return self._past_limit(times)

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
        return self._past_limit([task.at for task in self.received if external_userid in task.external_userids])

    def _past_limit(self, received_at: list[float]) -> bool:
        now = datetime.fromtimestamp(self.now(), UTC).astimezone(BEIJING)
        days = calendar.monthrange(now.year, now.month)[1]
        allowed, same_period = {
            "month": (days, lambda then: (then.year, then.month) == (now.year, now.month)),
            "week": (7, lambda then: then.isocalendar()[:2] == now.isocalendar()[:2]),
            "day": (1, lambda then: then.date() == now.date()),
        }[self.limit]
        times = [datetime.fromtimestamp(at, UTC).astimezone(BEIJING) for at in received_at]
        return sum(1 for then in times if same_period(then)) >= allowed

    # --- hand-overs and contact ways --------------------------------------------------------------

    def _contact_api(self, request: Request) -> dict[str, Any]:
        token = self._tokens.get(request.query.get("access_token", ""))
        if token is None or token.revoked or token.expires_at <= self.now():
            return self._error(41001 if not request.query.get("access_token") else 40014 if token is None
                               or token.revoked else 42001)
        try:
            body = request.json()
        except ValueError:
            return self._error(40058)
        if not isinstance(body, dict):
            return self._error(40058)
        api = request.path.removeprefix("/cgi-bin/externalcontact/")
        if api.endswith("transfer_customer"):
            return self._transfer(api.startswith("resigned/"), body)
        if api.endswith("transfer_result"):
            return self._transfer_result(api.startswith("resigned/"), body)
        if api == "add_contact_way":
            if not isinstance(body.get("user"), list) or not body["user"] or len(str(body.get("state", ""))) > 30:
                return self._error(40058)
            config_id = secrets.token_hex(16)
            self.contact_ways[config_id] = {**body, "qr_code": f"{self.url}/qr/{config_id}.png"}
            return {"errcode": 0, "errmsg": "ok", "config_id": config_id,
                    "qr_code": self.contact_ways[config_id]["qr_code"]}
        way = self.contact_ways.get(str(body.get("config_id", "")))
        if way is None:
            return self._error(40058)
        way.update({key: value for key, value in body.items() if key != "config_id"})
        return {"errcode": 0, "errmsg": "ok"}

    def _transfer(self, resigned: bool, body: dict[str, Any]) -> dict[str, Any]:
        customers = body.get("external_userid")
        if not isinstance(customers, list) or not 1 <= len(customers) <= 100:
            return self._error(40058)
        self.transfer_bodies.append(body)
        pair = self.transfers.setdefault((resigned, str(body.get("handover_userid")),
                                          str(body.get("takeover_userid"))), {})
        answers = []
        for external_userid in customers:
            if self.check_contacts and body.get("handover_userid") not in self._contacts.get(external_userid, set()):
                answers.append({"external_userid": external_userid, "errcode": 84061})
                continue
            pair[external_userid] = [self.now(), 2]
            answers.append({"external_userid": external_userid, "errcode": 0})
        return {"errcode": 0, "errmsg": "ok", "customer": answers}

    def _transfer_result(self, resigned: bool, body: dict[str, Any]) -> dict[str, Any]:
        pair = self.transfers.get((resigned, str(body.get("handover_userid")), str(body.get("takeover_userid"))), {})
        listed = []
        for external_userid, record in pair.items():
            if record[1] == 2 and external_userid in self.refusing:
                record[1] = 3
            elif record[1] == 2 and self.now() >= record[0] + TAKEOVER_SECONDS:
                record[1] = 1
                self._contacts.setdefault(external_userid, set()).discard(str(body.get("handover_userid")))
                self._contacts[external_userid].add(str(body.get("takeover_userid")))
            listed.append({"external_userid": external_userid, "status": record[1],
                           "takeover_time": int(record[0] + TAKEOVER_SECONDS) if record[1] == 1 else 0})
        return {"errcode": 0, "errmsg": "ok", "customer": listed, "next_cursor": ""}
