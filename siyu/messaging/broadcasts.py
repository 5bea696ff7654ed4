"""Broadcasts (群发): one message to every member of a segment, now or at a time, throttled.

A broadcast is a row; the worker fans it out into outbox rows in chunks of segment members taken
in profile-id order, each chunk in one transaction with the cursor that records it, so a crash
mid fan-out neither skips nor repeats anyone. The contact policy decides for the whole chunk as it
is fanned out (facts read set-based, :mod:`siyu.messaging.bulk_facts`): people it stops get their
row as ``stopped`` with the reason right away, deferrals are queued for the time they may be sent.
Rows it lets through are decided again by the delivery worker when they are sent, because caps
and cooldowns depend on what has gone out by then. Throttling spaces the messages' due times
(``rate_per_minute``), so the outbox holds the schedule and any number of workers keep to it.

The fan-out reads and decides a chunk while a writer thread writes the one before (the database's
work and Python's overlap: bench/bench_broadcast.py). The writer moves the cursor by compare-and-set,
so a chunk is written once even if another worker or a cancel moved it meanwhile.

Before sending, :func:`preview` gives the audience and what the policy would decide for a sample
of it; :func:`test_send` queues the message to chosen people (marked as a test, its own keys).
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from siyu import clock
from siyu.db.engine import read
from siyu.db.types import to_millis
from siyu.messaging import broadcast_goals as goals
from siyu.messaging import broadcast_store as store
from siyu.messaging import outbox, policies
from siyu.messaging.bulk_facts import Gathered, gather
from siyu.messaging.links import TRACK_KEY
from siyu.messaging.models import Channel, PolicySettings, Purpose, Sent, Status, Verdict
from siyu.messaging.outbox import TEMPLATE_KEY, MessagingError
from siyu.messaging.store import sending_scope
from siyu.segments import store as segment_store
from siyu.workspaces import store as workspace_store

CHUNK = 5000  # people per fan-out transaction: ~0.1 s of write lock on SQLite
PREVIEW_SAMPLE = 200


def create(conn: Connection, workspace_id: int, *, name: str, segment_id: int, channel: Channel, purpose: Purpose,
           content: dict[str, Any] | None, send_at: datetime | None, rate_per_minute: int | None,
           created_by: str | None, now: datetime, template: dict[str, Any] | None = None,
           track_links: bool = True, goal: dict[str, Any] | None = None,
           holdout_percent: float = 0.0) -> dict[str, Any]:
    """Either ``content`` (every member gets it as written) or ``template`` (rendered for each member
    when their message is sent: ``{{ profile.traits.name }}``, coupons, ``survey_link()`` signed for that
    member's send ``broadcast:<id>:<profile>``), checked now as a message's would be. ``goal`` and
    ``holdout_percent``: what counts as a conversion, and the control group (:mod:`.broadcast_goals`)."""
    if not name.strip() or len(name) > 200:
        raise MessagingError("A broadcast needs a name of 1-200 characters.", details={"field": "name"})
    if rate_per_minute is not None and not 1 <= rate_per_minute <= 1_000_000:
        raise MessagingError("'rate_per_minute' must be between 1 and 1,000,000.",
                             details={"field": "rate_per_minute"})
    segment_store.get_segment(conn, workspace_id, segment_id)  # 404 for a segment of another workspace
    stored_goal, holdout = goals.checked_goal(goal), goals.checked_holdout(holdout_percent)
    if holdout and stored_goal is None:
        raise MessagingError("A holdout measures a goal: give 'goal' too, or no 'holdout_percent'.",
                             details={"field": "holdout_percent"})
    payload = outbox.payload_of(channel, purpose, content, template)
    if not track_links:
        payload = {**payload, TRACK_KEY: False}
    broadcast_id = store.create(conn, workspace_id, name=name.strip(), segment_id=segment_id, channel=channel,
                                purpose=purpose, content=payload, send_at=max(send_at or now, now),
                                rate_per_minute=rate_per_minute, created_by=created_by, now=now,
                                goal=stored_goal, holdout_percent=holdout)
    return describe(conn, workspace_id, broadcast_id)


def describe(conn: Connection, workspace_id: int, broadcast_id: int) -> dict[str, Any]:
    found = store.get(conn, workspace_id, broadcast_id)
    if found is None:
        raise MessagingError(f"No broadcast {broadcast_id} in this workspace.", code="messaging.not_found",
                             status=404, details={"broadcast_id": broadcast_id})
    return {**found, **as_written(found["content"]), "figures": store.figures(conn, workspace_id, broadcast_id),
            "conversions": conversions(conn, found, clock.now()) if found["goal"] else None}


def conversions(conn: Connection, broadcast: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The goal's conversions and revenue among those sent to and those kept back, and the lift."""
    workspace_id, goal = broadcast["workspace_id"], broadcast["goal"]
    members = store.measured_members(conn, workspace_id, broadcast["id"], goals.HOLDOUT_REASON)
    found: list[tuple[int, datetime, Any]] = []
    if members:
        start = min(at for _, _, at in members)
        end = max(at for _, _, at in members) + goals.goal_of(goal).within
        found = store.goal_events(conn, workspace_id, goal["event"], start, min(end, now))
    return goals.measure(goal, members, found, now, broadcast["holdout_percent"])


def as_written(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored broadcast payload as its author gave it: ``content`` or ``template`` (the other
    ``None``) and ``track_links``, without the keys siyu keeps beside them."""
    message = {k: v for k, v in payload.items() if k not in (TEMPLATE_KEY, TRACK_KEY)}
    return {"content": None if TEMPLATE_KEY in payload else message, "template": payload.get(TEMPLATE_KEY),
            "track_links": payload.get(TRACK_KEY) is not False}


def cancel(conn: Connection, workspace_id: int, broadcast_id: int, now: datetime) -> dict[str, Any]:
    found = describe(conn, workspace_id, broadcast_id)
    if found["status"] in ("done", "cancelled") and not found["figures"].get("queued"):
        raise MessagingError(f"Broadcast {broadcast_id} is {found['status']}; nothing is left to cancel.",
                             code="messaging.conflict", status=409)
    store.cancel(conn, workspace_id, broadcast_id, now)
    return describe(conn, workspace_id, broadcast_id)


def preview(conn: Connection, workspace_id: int, *, segment_id: int, channel: Channel, purpose: Purpose,
            now: datetime) -> dict[str, Any]:
    """Audience size and the policy's verdicts on a sample (the first members by id)."""
    segment = segment_store.get_segment(conn, workspace_id, segment_id)
    sample = store.next_members(conn, workspace_id, segment_id, 0, PREVIEW_SAMPLE)
    workspace = workspace_store.get_workspace(conn, workspace_id)
    verdicts: dict[str, int] = {}
    for verdict, _ in decide_many(conn, workspace, sample, channel, purpose, now):
        key = verdict.action if verdict.action == "send" else f"{verdict.action}:{verdict.reason}"
        verdicts[key] = verdicts.get(key, 0) + 1
    return {"segment_id": segment_id, "audience": segment.get("size", len(sample)), "sample": len(sample),
            "verdicts": verdicts}


def test_send(conn: Connection, workspace_id: int, broadcast_id: int, profile_ids: list[int],
              now: datetime) -> list[int]:
    """The broadcast's message to chosen people now, through the same policies; each call sends again."""
    found = describe(conn, workspace_id, broadcast_id)
    if not 1 <= len(profile_ids) <= 20:
        raise MessagingError("A test send goes to 1-20 people.", details={"field": "profile_ids"})
    nonce = uuid.uuid4().hex[:12]
    queued = []
    for profile_id in profile_ids:
        message, _ = outbox.queue(conn, workspace_id, profile_id=profile_id, channel=Channel(found["channel"]),
                                  purpose=Purpose(found["purpose"]), content=found["content"],
                                  template=found["template"], track_links=found["track_links"], now=now,
                                  source=f"broadcast-test:{broadcast_id}", key=f"{nonce}:{profile_id}")
        queued.append(message.id)
    return queued


def decide_many(conn: Connection, workspace: Any, profile_ids: list[int], channel: Channel, purpose: Purpose,
                now: datetime) -> list[tuple[Verdict, str | None]]:
    """The contact policy's verdict and the address, for each of ``profile_ids`` (live profiles), in order."""
    gathered = gather(conn, workspace.id, profile_ids, channel, now, sending_scope(workspace.settings, channel))
    verdicts = _verdicts(gathered, profile_ids, channel, purpose, _settings(workspace), now)
    return [(verdict, gathered.addresses.get(pid)) for pid, verdict in zip(profile_ids, verdicts, strict=True)]


def _settings(workspace: Any) -> PolicySettings:
    return policies.settings_from((workspace.settings or {}).get("messaging"), workspace.timezone)


class _Watched(Sequence[Sent]):
    """A person's history handed to the policy, noting whether the policy looked at it: a verdict
    reached without looking holds for everyone with the same other facts, whatever their history
    (the policy is a pure function, so its path up to the first look cannot depend on what it
    would have seen). :class:`Sequence`'s own ``index`` and ``count`` go through these methods, so
    they note a look too; anything else the policy might do with it fails, and the person is then
    decided on the plain history."""

    __slots__ = ("items", "read")

    def __init__(self, items: tuple[Sent, ...]) -> None:
        self.items, self.read = items, False

    def __iter__(self) -> Iterator[Sent]:
        self.read = True
        return iter(self.items)

    def __len__(self) -> int:
        self.read = True
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        self.read = True
        return self.items[index]

    def __contains__(self, item: object) -> bool:
        self.read = True
        return item in self.items

    def __reversed__(self) -> Iterator[Sent]:
        self.read = True
        return reversed(self.items)


def _verdicts(gathered: Gathered, profile_ids: list[int], channel: Channel, purpose: Purpose,
              settings: PolicySettings, now: datetime) -> list[Verdict]:
    """``policies.decide`` for each person, decided once per distinct set of facts that the policy
    reads. The policy reads the address only for whether there is one; most people's verdict
    doesn't depend on their history (nobody without consent or an address gets as far as the
    caps), which :class:`_Watched` finds out per set of the other facts; the few whose verdict
    does are decided per history (each history differs by its times)."""
    decide = policies.decide
    regardless: dict[tuple[Any, ...], Verdict] = {}  # other facts -> verdict, whatever the history
    by_history: dict[tuple[Any, ...], Verdict] = {}  # (other facts, history) -> verdict
    reads_history: set[tuple[Any, ...]] = set()
    history = gathered.history
    consent, address = gathered.consents.get, gathered.addresses.get
    keys: list[tuple[Any, ...]]
    if gathered.followed or gathered.last_message or gathered.subscriptions or gathered.last_interaction:
        followed, last_message = gathered.followed.get, gathered.last_message.get
        subscription, interaction = (gathered.subscriptions or {}).get, gathered.last_interaction.get
        keys = [(consent(pid), bool(address(pid)), followed(pid), last_message(pid), subscription(pid),
                 interaction(pid)) for pid in profile_ids]
    else:  # the WeChat facts are None for everyone
        keys = [(consent(pid), bool(address(pid))) for pid in profile_ids]
    known = regardless.get
    decided: list[Verdict] = []
    for pid, key in zip(profile_ids, keys, strict=True):
        verdict = known(key)
        if verdict is None:
            if key in reads_history:
                whole = (key, history.get(pid))
                verdict = by_history.get(whole)
                if verdict is None:
                    verdict = by_history[whole] = decide(channel, purpose, gathered.facts(pid), settings, now)
            else:
                watched = _Watched(gathered.sent(pid))
                try:
                    verdict = decide(channel, purpose, gathered.facts(pid, watched), settings, now)
                except Exception:  # noqa: BLE001 - a use of the history _Watched lacks: decided again below
                    watched.read, verdict = True, None
                if watched.read or verdict is None:
                    reads_history.add(key)
                    verdict = by_history[(key, history.get(pid))] = verdict or decide(
                        channel, purpose, gathered.facts(pid), settings, now)
                else:
                    regardless[key] = verdict
        decided.append(verdict)
    return decided


def fan_out_due(engine: Engine, *, workspace_id: int | None = None, chunk: int = CHUNK) -> int:
    """Fan out every due broadcast; returns the people decided (and written)."""
    with read(engine) as conn:
        due = store.due(conn, clock.now(), workspace_id)
    return sum(_fan_out(engine, broadcast, chunk) for broadcast in due)


class _Moved(Exception):
    """The broadcast's cursor was not where this fan-out left it: cancelled, or another worker."""


def _fan_out(engine: Engine, broadcast: dict[str, Any], chunk: int) -> int:
    """One broadcast, chunk by chunk: this thread reads each chunk's members and facts and decides
    while a writer thread writes the chunk before (its rows and the cursor, one transaction). The
    writer moves the cursor only from where the chunk began (:func:`store.advance`): rows are
    written once, whatever runs beside this. (Reading on a thread of its own as well gains nothing:
    SQLite's driver takes the GIL back for every row it fetches, and waits for it while Python
    decides.)"""
    with engine.connect() as lock_holder:
        if not store.lock_fan_out(lock_holder, broadcast["id"]):
            return 0  # another worker's fan-out has it
        lock_holder.commit()
        writer = _Writer(engine, broadcast)
        try:
            channel, purpose = Channel(broadcast["channel"]), Purpose(broadcast["purpose"])
            at = {"fanout_after": broadcast["fanout_after"], "queued": broadcast["queued"]}
            for now, workspace, members, gathered in _chunks(engine, broadcast, chunk):
                verdicts = _verdicts(gathered, members, channel, purpose, _settings(workspace), now)
                if broadcast["holdout_percent"]:
                    verdicts = _kept_back(broadcast, members, verdicts)
                moved = {"fanout_after": members[-1] if members else at["fanout_after"],
                         "queued": at["queued"] + len(members)}
                rows = _rows({**broadcast, **at}, members, verdicts, now)
                if not writer.put((at, moved, len(members) < chunk, rows, now)):
                    break
                at = moved
        finally:
            try:
                written = writer.finish()
            finally:
                store.unlock_fan_out(lock_holder, broadcast["id"])
                lock_holder.commit()
    return written


def _chunks(engine: Engine, broadcast: dict[str, Any], chunk: int) -> Iterator[tuple[Any, ...]]:
    """Each chunk's time of decision, workspace, members (after the cursor, in id order) and facts."""
    channel, after = Channel(broadcast["channel"]), broadcast["fanout_after"]
    while True:
        now = clock.now()
        with read(engine) as conn:
            members = store.next_members(conn, broadcast["workspace_id"], broadcast["segment_id"], after, chunk)
            workspace = workspace_store.get_workspace(conn, broadcast["workspace_id"])
            gathered = gather(conn, workspace.id, members, channel, now, sending_scope(workspace.settings, channel))
        yield now, workspace, members, gathered
        if len(members) < chunk:
            return
        after = members[-1]


class _Writer:
    """Writes a broadcast's chunks in order on a thread of its own, one transaction each (the rows
    and the cursor together, so a crash leaves whole chunks). It holds at most one chunk beside
    the one it writes, and stops at the first chunk whose cursor moved (:class:`_Moved`)."""

    def __init__(self, engine: Engine, broadcast: dict[str, Any]) -> None:
        self.engine, self.broadcast = engine, broadcast
        self.chunks: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.written = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"fan-out of broadcast {broadcast['id']}",
                                       daemon=True)
        self.thread.start()

    def put(self, chunk: Any) -> bool:
        """Hand over a chunk; False when the writer has stopped (and won't take it)."""
        while self.thread.is_alive():
            try:
                self.chunks.put(chunk, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def finish(self) -> int:
        """Wait for the chunks handed over; the people written, or the writer's error."""
        self.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.written

    def _run(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(sqlite_begin="IMMEDIATE")
                while (chunk := self.chunks.get()) is not None:
                    at, moved, done, rows, now = chunk
                    with conn.begin():
                        if not store.advance(conn, {**self.broadcast, **at}, after=moved["fanout_after"],
                                             queued=moved["queued"], done=done, now=now):
                            raise _Moved
                        store.queue_many(conn, self.broadcast, rows, now)
                    self.written += len(rows)
        except _Moved:
            pass  # rolled back; whoever moved the cursor carries on (or it was cancelled)
        except BaseException as error:  # noqa: BLE001 - handed to the fan-out's thread by finish()
            self.error = error


HELD_OUT = Verdict.stop(goals.HOLDOUT_REASON, "Kept back as the broadcast's control group, to measure its goal.")


def _kept_back(broadcast: dict[str, Any], members: list[int], verdicts: list[Verdict]) -> list[Verdict]:
    """The control group's members, among those the policy lets through (now or later), stopped instead."""
    percent, broadcast_id = broadcast["holdout_percent"], broadcast["id"]
    return [HELD_OUT if verdict.action != "stop" and goals.held_out(percent, broadcast_id, pid) else verdict
            for pid, verdict in zip(members, verdicts, strict=True)]


def _rows(broadcast: dict[str, Any], members: list[int], verdicts: list[Verdict], now: datetime) -> list[store.Row]:
    """One outbox row per person: stopped with the reason, or queued — for the throttle's slot (the
    broadcast's ``queued``-th message onwards, ``rate_per_minute`` apart; now without a throttle),
    or later if the policy defers. Rows of one verdict share everything but the person (and the
    slot), worked out once."""
    step = store.spacing(broadcast["rate_per_minute"])
    start = broadcast["send_at"] if broadcast["rate_per_minute"] else now
    shared: dict[int, tuple[Any, ...]] = {}
    rows: list[store.Row] = []
    for i, (pid, verdict) in enumerate(zip(members, verdicts, strict=True)):
        part = shared.get(id(verdict))
        if part is None:
            part = shared[id(verdict)] = _part(verdict, None if step else now)
        if step:
            status, reason, detail, until = part
            slot = max(start + step * (broadcast["queued"] + i), now)
            rows.append((pid, status, reason, detail, to_millis(max(slot, until) if until else slot)))
        else:
            rows.append((pid, *part))  # type: ignore[arg-type]
    return rows


def _part(verdict: Verdict, now: datetime | None) -> tuple[Any, ...]:
    """A verdict's status, reason, detail, and the time it defers to: with ``now`` (no throttle)
    the row's due time in epoch ms, else the deferral's own time (or None)."""
    status = Status.STOPPED.value if verdict.action == "stop" else Status.QUEUED.value
    reason, detail = (None, None) if verdict.action == "send" else (verdict.reason, verdict.detail)
    until = verdict.until if verdict.action == "defer" else None
    assert until is not None or verdict.action != "defer"
    if now is None:
        return status, reason, detail, until
    return status, reason, detail, to_millis(max(now, until) if until else now)
