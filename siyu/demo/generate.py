"""Generate the demo brand through the real ingest pipeline.

This is the "bulk path that gives identical results": the same :func:`siyu.ingest.pipeline.ingest`
that serves ``/v1/batch``, fed big batches (one transaction each). People are generated in chunks;
within a chunk their messages are sent in time order, interleaved across people, so rollups and
merges are what live ingest would have produced.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from siyu import clock
from siyu.db.engine import refresh_statistics, write
from siyu.demo.story import tell
from siyu.identity.rules import IdentityRules
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.runtime import Runtime

PEOPLE_PER_CHUNK = 500
BATCH = 2000


def generate(runtime: Runtime, workspace_id: int, *, customers: int, seed: int, now: datetime | None = None,
             rules: IdentityRules | None = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Generate ``customers`` people; returns the number of messages sent to the pipeline.

    Idempotent: messageIds derive from (seed, person, step) and are remembered for ever, so running
    it again on the same workspace stores nothing twice.
    """
    now = now or clock.now()
    rules = rules or IdentityRules()
    sent = 0
    for first in range(0, customers, PEOPLE_PER_CHUNK):
        people = range(first, min(first + PEOPLE_PER_CHUNK, customers))
        raw = [m for index in people for m in tell(seed, index, now).messages]
        raw.sort(key=lambda m: m["timestamp"])
        for start in range(0, len(raw), BATCH):
            received = now + timedelta(microseconds=1)
            messages = [parse_message(m, received_at=received, source="demo") for m in raw[start:start + BATCH]]
            for message in messages:
                message.dedupe_forever = True
                message.received_at = message.timestamp  # as if each had arrived when it happened
            with write(runtime.engine) as conn:
                ingest(conn, workspace_id, messages, rules=rules)
        sent += len(raw)
        if progress:
            progress(len(people), len(raw))
    refresh_statistics(runtime.engine)
    return sent
