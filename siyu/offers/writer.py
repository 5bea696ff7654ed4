"""Group commit for claims: a flash sale's claims in a few transactions at a time.

Every claim of a hot coupon updates the same stock row, and its lock is held to the commit: claims in
their own transactions queue on that row one fsync at a time, and on SQLite on the database lock,
whose busy handler sleeps in steps of up to 100 ms. Here a writer thread takes every claim waiting
(up to :data:`MAX_GROUP`), answers them together in one transaction (:func:`claim_all`: each offer's
claims in a handful of statements, :mod:`siyu.offers.batch`) and commits once. On PostgreSQL two
threads do this, so that one group's round trips to the database overlap the next group's; on
SQLite, one. Measured with bench/bench_offers.py (16 clients, 10,000 claims on 1,000 units): see
bench/RESULTS.md.

A refusal (out of stock, limit reached) is an answer, recorded in the transaction like a grant, so the
same key answers the same next time. A claim failing any other way (a bug, a lost connection) rolls
the whole group back, and the thread stores its claims again each in a transaction of its own — the
claim at fault alone gets its error, the others their answers. Nothing is answered before its
transaction has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.db import group_commit
from siyu.db.engine import is_sqlite, write
from siyu.db.group_commit import GroupWriter, HeldConnection
from siyu.errors import SiyuError
from siyu.offers import batch, service
from siyu.runtime import Runtime

log = logging.getLogger("siyu.offers")
MAX_GROUP = 200
# On PostgreSQL a group spends most of its time waiting for the database's answers, not running
# Python: a second thread writes the next group meanwhile (the rows they share — the stock, a
# person's holding, a key — are taken by guarded statements, so two groups may race: see
# siyu.offers.store). SQLite runs one writer at a time whatever the threads: one thread there.
POSTGRES_THREADS = 2


@dataclass(frozen=True)
class ClaimRequest:
    workspace_id: int
    offer_id: int
    profile_id: int  # as the caller named it: resolved to the live profile in the transaction
    idempotency_key: str
    channel: str | None = None
    campaign_id: int | None = None
    delivery: dict[str, Any] | None = None
    amount_fen: int | None = None  # the claim's own face value (checked by siyu.offers.terms.check_face_value)


Answer = dict[str, Any] | SiyuError  # the claim, or the refusal to raise


def claim_one(conn: Connection, request: ClaimRequest) -> Answer:
    """One claim in the caller's transaction: the claim, or the refusal (written, to be committed)."""
    from siyu.profiles.read_store import resolve_profile_id

    try:
        profile_id = resolve_profile_id(conn, request.workspace_id, request.profile_id)  # 404 for a stranger
        return service.claim_offer(conn, request.workspace_id, request.offer_id, profile_id=profile_id,
                                   idempotency_key=request.idempotency_key, now=clock.now(),
                                   channel=request.channel, campaign_id=request.campaign_id,
                                   delivery=request.delivery, amount_fen=request.amount_fen).to_dict()
    except SiyuError as refusal:
        return refusal


def claim_all(conn: Connection, requests: list[ClaimRequest]) -> list[Answer]:
    """A group's answers in the caller's transaction: each offer's claims taken together
    (:mod:`siyu.offers.batch`), then one by one those that path left."""
    answers: list[Answer | None] = [None] * len(requests)
    offers: dict[tuple[int, int], list[int]] = {}
    for index, request in enumerate(requests):
        if batch.simple(request):
            offers.setdefault((request.workspace_id, request.offer_id), []).append(index)
    now = clock.now()
    for (workspace_id, offer_id), indexes in offers.items():
        together = batch.claim_together(conn, workspace_id, offer_id, [requests[i] for i in indexes], now)
        for index, answer in zip(indexes, together, strict=True):
            answers[index] = answer
    return [claim_one(conn, request) if answer is None else answer for request, answer in zip(requests, answers,
                                                                                              strict=True)]


def write_claims(engine: Any, group: list[tuple[ClaimRequest, Future[Answer]]],
                 claim: Callable[[Connection, ClaimRequest], Answer] | None = None,
                 held: HeldConnection | None = None) -> None:
    """Claim ``group`` in one transaction and resolve each future once it has committed. ``claim``
    replaces the way of claiming (one request at a time; tests use it to make one claim fail);
    ``held``, the writer thread's own connection (else one from the pool)."""
    try:
        with (held.transaction() if held is not None else write(engine)) as conn:
            answers = (claim_all(conn, [request for request, _ in group]) if claim is None
                       else [claim(conn, request) for request, _ in group])
    except Exception as error:  # noqa: BLE001 - find the claim at fault (below), or fail it alone
        if len(group) == 1:
            log.warning("a claim failed", exc_info=True)
            group[0][1].set_exception(error)
            return
        for one in group:
            write_claims(engine, [one], claim, held)
        return
    for (_, future), answer in zip(group, answers, strict=True):
        future.set_result(answer)


def writer_for(runtime: Runtime) -> GroupWriter:
    """The process's claim writer: ``submit(request)`` gives a future of the claim's :data:`Answer`."""
    def make() -> GroupWriter:
        held = HeldConnection(runtime.engine)
        return GroupWriter("siyu-claim-writer", lambda group: write_claims(runtime.engine, group, held=held),
                           MAX_GROUP, threads=1 if is_sqlite(runtime.engine) else POSTGRES_THREADS,
                           on_stop=held.release)

    return group_commit.writer_for(runtime, "claim_writer", make)


def stop_writer(runtime: Runtime) -> None:
    group_commit.stop_writer(runtime, "claim_writer")
