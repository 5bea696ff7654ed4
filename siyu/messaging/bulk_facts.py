"""The contact policy's facts for many people at once: what :func:`siyu.messaging.store.facts`
reads for one person, as one query per kind of fact for a whole chunk of people.

A broadcast's fan-out decides for a thousand people at a time; asking five questions per person
would be five thousand round trips per chunk. The answers are the same as the one-person version
gives (a test holds the two to each other on generated people), so the policy cannot tell which
one fed it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from siyu.db import driver
from siyu.db.types import from_millis, to_millis
from siyu.messaging import store
from siyu.messaging.models import REACHED, Channel, Facts, Purpose, Sent

CHUNK = 5000  # people per round of queries (an IN list of at most this many: within every driver's limit)
_CHANNELS = {c.value: c for c in Channel}
_PURPOSES = {p.value: p for p in Purpose}


@dataclass
class Gathered:
    """The facts of a chunk of people as they were read, one map per kind of fact. The fan-out
    looks at them without building a :class:`Facts` for everyone (most verdicts are shared);
    :meth:`facts` builds one person's, equal to what :func:`store.facts` reads."""

    consents: dict[int, tuple[tuple[tuple[str, str], str], ...]]  # person -> ((channel, purpose), status), sorted
    addresses: dict[int, str]
    history: dict[int, tuple[tuple[str, str, int], ...]]  # (channel, purpose, sent_at ms), newest first
    followed: dict[int, bool]
    last_message: dict[int, datetime]
    subscriptions: dict[int, bool] | None  # wechat_subscribe only
    last_interaction: dict[int, datetime] = field(default_factory=dict)  # follow, scan, menu click

    def sent(self, profile_id: int) -> tuple[Sent, ...]:
        return tuple(Sent(_CHANNELS[kind], _PURPOSES[purpose], from_millis(at))
                     for kind, purpose, at in self.history.get(profile_id, ()))

    def facts(self, profile_id: int, history: Sequence[Sent] | None = None) -> Facts:
        """``history`` stands in for the person's own (the fan-out's watched copy of it)."""
        return Facts(consents=dict(self.consents.get(profile_id, ())), address=self.addresses.get(profile_id),
                     wechat_followed=self.followed.get(profile_id),
                     last_user_message_at=self.last_message.get(profile_id),
                     last_interaction_at=self.last_interaction.get(profile_id),
                     history=self.sent(profile_id) if history is None else history,  # type: ignore[arg-type]
                     subscription=None if self.subscriptions is None else self.subscriptions[profile_id])


def facts_many(conn: Connection, workspace_id: int, profile_ids: Sequence[int], channel: Channel, now: datetime,
               scope: str | None = None) -> dict[int, Facts]:
    """:func:`store.facts` (with nothing excluded) for each of ``profile_ids``."""
    gathered = gather(conn, workspace_id, profile_ids, channel, now, scope)
    return {pid: gathered.facts(pid) for pid in profile_ids}


def gather(conn: Connection, workspace_id: int, profile_ids: Sequence[int], channel: Channel, now: datetime,
           scope: str | None = None) -> Gathered:
    """The facts of ``profile_ids``, a round of queries per :data:`CHUNK` people."""
    gathered = Gathered({}, {}, {}, {}, {}, {} if channel is Channel.WECHAT_SUBSCRIBE else None)
    for start in range(0, len(profile_ids), CHUNK):
        _chunk(conn, workspace_id, list(profile_ids[start:start + CHUNK]), channel, now, scope, gathered)
    return gathered


def _in(ids: Sequence[object]) -> str:
    return "(" + ", ".join("?" * len(ids)) + ")"


def _people(workspace_id: int, ids: list[int]) -> tuple[str, list[Any]]:
    """The WHERE for these people: a range scan when they are most of their id range (a segment's
    members in id order usually are), which reads a few others that the caller ignores; else the list."""
    low, high = min(ids), max(ids)
    if len(ids) * 2 >= high - low + 1:
        return "workspace_id = ? AND profile_id BETWEEN ? AND ?", [workspace_id, low, high]
    return f"workspace_id = ? AND profile_id IN {_in(ids)}", [workspace_id, *ids]


def _chunk(conn: Connection, workspace_id: int, ids: list[int], channel: Channel, now: datetime,
           scope: str | None, into: Gathered) -> None:
    """Straight on the driver (:mod:`siyu.db.driver`): with a thousand ids per statement, SQLAlchemy's
    expansion of the IN list and its per-row type processing cost more than the queries. The range
    scan reads a few people outside ``ids``: their facts are as true as anyone's, and nobody asks."""
    where, params = _people(workspace_id, ids)
    consents: dict[int, tuple[tuple[tuple[str, str], str], ...]] = {}
    for pid, kind, purpose, status in driver.rows(
            conn, f"SELECT profile_id, channel, purpose, status FROM consents WHERE {where}", params):
        found = consents.get(pid)
        consents[pid] = (((kind, purpose), status),) if found is None else tuple(sorted(
            (*found, ((kind, purpose), status))))
    into.consents.update(consents)  # whole, as a later chunk's range may read someone again
    reached = [s.value for s in REACHED]
    history: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for row in driver.rows(
            conn, f"SELECT profile_id, channel, purpose, sent_at FROM messages WHERE {where} "
            f"AND status IN {_in(reached)} AND sent_at IS NOT NULL AND sent_at >= ? "
            "ORDER BY profile_id, sent_at DESC",
            [*params, *reached, to_millis(now - timedelta(days=store.HISTORY_DAYS))]):
        history[row[0]].append(row[1:])
    into.history.update((pid, tuple(sent)) for pid, sent in history.items())
    if channel.value.startswith("wechat"):
        into.followed.update(_latest_follow(conn, where, params))
        into.last_message.update((pid, from_millis(at)) for pid, at in driver.rows(
            conn, f"SELECT profile_id, max(timestamp) FROM events WHERE {where} "
            f"AND name IN {_in(store.USER_MESSAGE_EVENTS)} GROUP BY profile_id",
            [*params, *store.USER_MESSAGE_EVENTS]))
        into.last_interaction.update((pid, from_millis(at)) for pid, at in driver.rows(
            conn, f"SELECT profile_id, max(timestamp) FROM events WHERE {where} "
            f"AND name IN {_in(store.INTERACTION_EVENTS)} GROUP BY profile_id",
            [*params, *store.INTERACTION_EVENTS]))
    into.addresses.update(_addresses(conn, where, params, workspace_id, ids, channel, scope))
    if into.subscriptions is not None:
        into.subscriptions.update((pid, store.has_subscribe_grant(conn, workspace_id, pid, None)) for pid in ids)


def _latest_follow(conn: Connection, where: str, params: list[Any]) -> dict[int, bool]:
    """Per person, whether their latest follow or unfollow (by time, then id) was a follow."""
    latest: dict[int, tuple[int, int, str]] = {}
    for pid, at, event_id, name in driver.rows(
            conn, f"SELECT profile_id, timestamp, id, name FROM events WHERE {where} "
            f"AND name IN {_in(store.FOLLOW_EVENTS)}", [*params, *store.FOLLOW_EVENTS]):
        seen = latest.get(pid)
        if seen is None or (at, event_id) > seen[:2]:
            latest[pid] = (at, event_id, name)
    return {pid: name == "Followed" for pid, (_, _, name) in latest.items()}


def _addresses(conn: Connection, where: str, params: list[Any], workspace_id: int, ids: list[int],
               channel: Channel, scope: str | None) -> dict[int, str]:
    if channel is Channel.WEBHOOK:
        return {pid: str(pid) for pid in ids}
    kind = store.ADDRESS_TYPES[channel]
    wanted, kinds = ("type = ?", [f"{kind}:{scope}"]) if scope else ("(type = ? OR type LIKE ?)", [kind, f"{kind}:%"])
    found: dict[int, str] = {}
    for pid, type_, value in driver.rows(
            conn, f"SELECT profile_id, type, value FROM identities WHERE {where} AND {wanted} "
            "ORDER BY profile_id, last_seen_at DESC, type, value", [*params, *kinds]):
        if pid not in found:
            found[pid] = f"{type_.split(':', 1)[1]}:{value}" if ":" in type_ else value
    if channel is Channel.WECOM:
        owners = _wecom_owners(conn, workspace_id, list(found))
        found = {pid: f"{value}/{owners[pid]}" if owners.get(pid) else value for pid, value in found.items()}
    return found


def _wecom_owners(conn: Connection, workspace_id: int, ids: list[int]) -> dict[int, str]:
    """:func:`store.wecom_owner` per person: the first valid userid among their latest 20 adds."""
    looked: dict[int, int] = defaultdict(int)
    owners: dict[int, str] = {}
    if not ids:
        return owners
    for pid, properties in driver.rows(
            conn, f"SELECT profile_id, properties FROM events WHERE workspace_id = ? AND profile_id IN {_in(ids)} "
            f"AND name IN {_in(store.CONTACT_ADDED_EVENTS)} ORDER BY profile_id, timestamp DESC, id DESC",
            [workspace_id, *ids, *store.CONTACT_ADDED_EVENTS]):
        if pid in owners or looked[pid] >= 20:
            continue
        looked[pid] += 1
        if isinstance(properties, str | bytes):
            properties = orjson.loads(properties)
        userid = properties.get("userid") if isinstance(properties, dict) else None
        if isinstance(userid, str) and store.WECOM_USERID.fullmatch(userid):
            owners[pid] = userid
    return owners
