"""The set-based import path (:mod:`siyu.imports.bulk`) stores what the per-event pipeline stores.

Two comparisons, each into two fresh workspaces on the same database, compared row by row with
profile ids replaced by their rank (:func:`tests.identity.test_bulk.snapshot`):

* whole files: Tmall and Shopify orders and a customer list (buyers sharing a phone, a customer row
  linking phone + email + member id that merges a Tmall buyer with a Shopify buyer, tags, invalid
  rows, an order exported twice, masked values), imported by ``run_import`` and, the old way, by
  converting the same file to messages and sending each chunk through
  :func:`siyu.ingest.pipeline.ingest`;
* generated Segment messages with every awkward identity case (shared phones, conflicting unionids,
  blocked placeholders, repeated message ids, changing traits), prepared and stored by
  :func:`siyu.imports.bulk.store_chunk` against :func:`siyu.ingest.pipeline.ingest`.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import events, profile_tags, profiles, tags
from siyu.db.types import to_millis
from siyu.identity.rules import DEFAULT_RULES, IdentityRules
from siyu.imports import convert, runner
from siyu.imports.bulk import prepare, store_chunk
from siyu.imports.presets import Preset, preset_for
from siyu.imports.runner import Outcome, run_import
from siyu.ingest.pipeline import ingest
from siyu.profiles.bulk import add_event_ms
from siyu.profiles.rollups import ORDER_EVENT, Rollup, add_event, order_amount
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.conftest import make_workspace
from tests.identity.test_bulk import NOW, generated_messages, parsed, snapshot
from tests.imports.test_imports import tmall_file, tmall_row

SHOPIFY_HEADER = ["Name", "Email", "Financial Status", "Paid at", "Created at", "Total", "Currency", "Lineitem name",
                  "Lineitem quantity", "Lineitem price", "Lineitem sku", "Billing Name", "Phone"]


def import_per_event(runtime: Runtime, workspace_id: int, path: Path, preset: Preset) -> Outcome:
    """The import as it was before the set-based path: the same conversion, then each chunk of
    messages through the ingest pipeline, and the rows' tags."""
    with read(runtime.engine) as conn:
        workspace = workspace_store.get_workspace(conn, workspace_id)
    rules = IdentityRules.from_settings(workspace.settings)
    job = convert.Job(path, "auto", preset, workspace.timezone, workspace.settings, workspace.default_region,
                      clock.now())
    outcome = Outcome(0)
    waiting: list[convert.Pending] = []
    for chunk in convert.convert(job):  # chunks gathered as the runner gathers them, same boundaries
        outcome.rows_total += chunk.rows
        outcome.rows_failed += len(chunk.failed)
        waiting += chunk.pending
        if len(waiting) >= runner.WRITE_ROWS:
            _ingest(runtime, workspace_id, rules, workspace.default_region, waiting, outcome)
            waiting = []
    _ingest(runtime, workspace_id, rules, workspace.default_region, waiting, outcome)
    return outcome


def _ingest(runtime: Runtime, workspace_id: int, rules: IdentityRules, region: str, chunk: list[convert.Pending],
            outcome: Outcome) -> None:
    if not chunk:
        return
    with write(runtime.engine) as conn:
        result = ingest(conn, workspace_id, [p.message for p in chunk], rules=rules, region=region,
                        identifiers=[p.identifiers for p in chunk])
        tagged: dict[str, set[int]] = defaultdict(set)
        counted: set[str] = set()
        for pending in chunk:
            message_id = pending.message.message_id
            if message_id not in result.profile_ids or message_id in counted:
                outcome.rows_duplicate += pending.rows
                continue
            counted.add(message_id)
            outcome.rows_ok += pending.rows
            for name in pending.tags:
                tagged[name[:100]].add(result.profile_ids[message_id])  # type: ignore[arg-type]
        if tagged:
            runner._tag(conn, workspace_id, tagged)


def comparable(runtime: Runtime, workspace_id: int) -> dict[str, Any]:
    """:func:`snapshot`, with the random message ids of tag events (``siyu-<uuid>``) left out."""
    taken = snapshot(runtime, workspace_id)
    taken["events"] = [(e[0], None if e[1].startswith("siyu-") else e[1], *e[2:]) for e in taken["events"]]
    taken["dedupe"] = [d for d in taken["dedupe"] if not d[0].startswith("siyu-")]
    return taken


def tag_snapshot(runtime: Runtime, workspace_id: int) -> list[tuple[str, int]]:
    """(tag name, rank of the profile) for every tagged profile."""
    with read(runtime.engine) as conn:
        ranks = {r.id: n for n, r in enumerate(conn.execute(select(profiles.c.id).where(
            profiles.c.workspace_id == workspace_id).order_by(profiles.c.id)))}
        rows = conn.execute(select(tags.c.name, profile_tags.c.profile_id).join(
            tags, tags.c.id == profile_tags.c.tag_id).where(profile_tags.c.workspace_id == workspace_id)).all()
    return sorted((name, ranks[profile_id]) for name, profile_id in rows)


def _files(folder: Path) -> list[tuple[Path, Preset]]:
    # Tmall: 40 buyers, two of them (buyer 0 and buyer 1) sharing one family phone; returning buyers;
    # an order exported twice; a masked buyer; an invalid phone and an unreadable amount.
    rows = [tmall_row(f"31{n:05d}", f"buyer{n % 40}", f"{10 + n % 9}.90",
                      "13900139000" if n % 40 in (0, 1) else f"1390013{n % 40:04d}",
                      status="交易关闭" if n % 23 == 0 else "交易成功",
                      when=f"2025-{1 + n % 12:02d}-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:00") for n in range(150)]
    rows += [tmall_row("3100007", "buyer7", "12.90", "13900130007"), tmall_row("3199999", "t**1", "5", "138****8000"),
             tmall_row("3199998", "buyer3", "5", "1234"), tmall_row("3199997", "buyer4", "ten", "13900130004")]
    tmall = tmall_file(folder / "tmall.csv", rows)
    # Shopify: line items grouped by order; its buyers are emails, five of them also Tmall buyers'
    # phones on the order, so they join those people.
    shopify = folder / "shopify.csv"
    with shopify.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SHOPIFY_HEADER)
        for n in range(30):
            email = f"shopper{n % 12}@shop.cn"
            phone = f"+86 139 0013 {n % 12 + 30:04d}" if n % 12 < 5 else ""
            when = f"2025-0{1 + n % 9}-1{n % 10} 09:00:00 +0800"
            writer.writerow([f"#10{n:02d}", email, "paid", when, when, "208.00", "CNY", "眼影盘", "1", "129.00",
                             "EY-1", f"Shopper {n % 12}", phone])
            writer.writerow([f"#10{n:02d}", "", "", "", "", "", "", "唇釉", "1", "79.00", "LG-2", "", ""])
        writer.writerow(["#1098", "bad@shop.cn", "paid", "yesterday", "", "9.00", "CNY", "x", "1", "9", "", "", ""])
        writer.writerow(["#1099", "bad@shop.cn", "paid", "", "", "nine", "CNY", "x", "1", "9", "", "", ""])
    # Customers: member ids linking a Tmall buyer's phone to a Shopify shopper's email (two stored
    # profiles merge), a second member id on a known phone (a conflict), tags, a row with no
    # identifier, a bad birthday.
    customers = folder / "customers.csv"
    with customers.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member_id", "phone", "email", "name", "city", "tags", "birthday"])
        for n in range(20):
            writer.writerow([f"M{n:03d}", f"1390013{n + 2:04d}", f"shopper{n % 12}@shop.cn" if n < 8 else "",
                             f"会员{n}", "上海" if n % 2 else "杭州", "VIP,复购" if n % 3 == 0 else "新客",
                             f"1990-0{1 + n % 9}-1{n % 10}"])
        writer.writerow(["M500", "13900130002", "", "另一个会员号", "", "", ""])  # M000's phone: refused
        writer.writerow(["", "", "", "无名", "上海", "", ""])
        writer.writerow(["M999", "13900139999", "", "坏生日", "", "", "not a date"])
    return [(tmall, preset_for("orders", "tmall")), (shopify, preset_for("orders", "shopify")),
            (customers, preset_for("customers", "siyu"))]


def test_files_import_as_the_per_event_pipeline_would(runtime: Runtime, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert, "CHUNK", 9)  # several chunks per file, people spanning chunks
    monkeypatch.setattr(runner, "WRITE_ROWS", 27)
    clock.freeze(NOW)
    by_bulk, by_pipeline = make_workspace(runtime, "bulk"), make_workspace(runtime, "pipeline")
    for path, preset in _files(tmp_path):
        clock.advance(timedelta(minutes=1))
        bulk = run_import(runtime, by_bulk.id, path, preset)
        piped = import_per_event(runtime, by_pipeline.id, path, preset)
        assert bulk.counts() == piped.counts(), path.name
        assert bulk.rows_failed >= 2 and bulk.rows_ok > 0
        again = run_import(runtime, by_bulk.id, path, preset)  # idempotent: the same file twice
        assert (again.rows_ok, again.rows_duplicate) == (0, bulk.rows_ok + bulk.rows_duplicate)
    bulk_snapshot, pipeline_snapshot = comparable(runtime, by_bulk.id), comparable(runtime, by_pipeline.id)
    for key in pipeline_snapshot:
        assert bulk_snapshot[key] == pipeline_snapshot[key], key
    assert pipeline_snapshot["merges"], "the customer list should merge a Tmall buyer with a Shopify shopper"
    assert pipeline_snapshot["conflicts"], "a second member id on one person's phone should be refused"
    assert tag_snapshot(runtime, by_bulk.id) == tag_snapshot(runtime, by_pipeline.id) != []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_prepared_chunks_store_what_the_pipeline_stores(runtime: Runtime, seed: int) -> None:
    """Every identity case the pipeline handles, bar alias (an import never makes one)."""
    clock.freeze(NOW)
    by_pipeline, by_bulk = make_workspace(runtime, "pipeline"), make_workspace(runtime, "bulk")
    chunks = [[m for m in generated_messages(seed * 10 + n, 150, 30, f"c{n}") if m["type"] != "alias"]
              for n in range(3)]
    chunks.append(chunks[0][:20])  # already stored: all duplicates
    for raw in chunks:
        clock.advance(timedelta(minutes=1))
        messages, found = parsed(raw)
        for message in messages:
            message.dedupe_forever = True  # as imports do
        with write(runtime.engine) as conn:
            expected = ingest(conn, by_pipeline.id, messages, rules=DEFAULT_RULES, identifiers=found)
        prepared = [prepare(m, f, 1, []) for m, f in zip(messages, found, strict=True)]
        with write(runtime.engine) as conn:
            got = store_chunk(conn, by_bulk.id, prepared, rules=DEFAULT_RULES, now=clock.now())
        assert len(got) == expected.accepted
    pipeline, bulk = snapshot(runtime, by_pipeline.id), snapshot(runtime, by_bulk.id)
    for key in pipeline:
        assert bulk[key] == pipeline[key], key
    assert pipeline["merges"] and pipeline["conflicts"], "the generator should exercise merges and conflicts"


def test_the_fold_in_milliseconds_agrees_with_the_rollup_fold() -> None:
    """siyu.profiles.bulk.add_event_ms against siyu.profiles.rollups.add_event on generated events,
    ties in time and events without a channel included."""
    rnd = random.Random(5)
    for _ in range(300):
        by_datetime, by_millis = Rollup(), Rollup()
        for _ in range(rnd.randrange(1, 8)):
            at = NOW - timedelta(minutes=rnd.randrange(0, 50, 5))
            name = rnd.choice([ORDER_EVENT, "Order Cancelled", "Product Viewed"])
            total = rnd.choice([69.9, 0.1, 0.2, 129.0])
            channel = rnd.choice([None, "tmall", "xhs"])
            add_event(by_datetime, name=name, at=at, properties={"total": total}, channel=channel)
            add_event_ms(by_millis, name, to_millis(at), order_amount({"total": total}), channel)
        assert by_millis == Rollup(**{
            field: to_millis(value) if isinstance(value, datetime) else value
            for field, value in vars_of(by_datetime).items()})


def vars_of(rollup: Rollup) -> dict[str, Any]:
    return {field: getattr(rollup, field) for field in rollup.__slots__}  # type: ignore[attr-defined]


def test_followers_of_the_log_see_imported_orders(runtime: Runtime, workspace, tmp_path: Path) -> None:
    """Real-time segments follow the event log by cursor: imported orders move people into a
    segment of buyers like orders sent over HTTP do."""
    from siyu.segments import membership, realtime
    from siyu.segments import store as segment_store

    clock.freeze(NOW)
    with write(runtime.engine) as conn:
        segment_id = membership.save(conn, workspace.id, name="buyers", description=None,
                                     definition={"event": "Order Completed"}, actor="test", now=clock.now(),
                                     timezone="Asia/Shanghai")["id"]
    path = tmall_file(tmp_path / "orders.csv", [tmall_row(f"5{n:04d}", f"buyer{n % 4}", "10", f"1390013{n % 4:04d}")
                                                for n in range(12)])
    assert run_import(runtime, workspace.id, path, preset_for("orders", "tmall")).rows_ok == 12
    clock.advance(timedelta(seconds=5))
    while True:
        with write(runtime.engine) as conn:
            if realtime.process_new_events(conn, workspace.id, clock.now(), "Asia/Shanghai").events == 0:
                break
    with read(runtime.engine) as conn:
        members = set(segment_store.member_ids(conn, workspace.id, segment_id, limit=100))
        buyers = set(conn.execute(select(events.c.profile_id).where(
            events.c.workspace_id == workspace.id, events.c.name == ORDER_EVENT)).scalars())
    assert members == buyers and len(buyers) == 4
