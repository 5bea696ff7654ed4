"""The columnar event mirror: appends by id, follows merges and erasures, rebuilds to the same answers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import duckdb
import orjson
from sqlalchemy import func, select

from siyu import clock
from siyu.analytics.engine import mirror_events, open_engine
from siyu.analytics.mirror import mirror_directory, rebuild, status, sync
from siyu.db.engine import read, write
from siyu.db.tables import events
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.profiles.read_store import erase_profile, resolve_profile_id
from siyu.runtime import Runtime
from tests.conftest import make_workspace


def send(runtime: Runtime, workspace_id: int, messages: list[dict[str, Any]]) -> None:
    with write(runtime.engine) as conn:
        ingest(conn, workspace_id, [parse_message(m, received_at=clock.now()) for m in messages], rules=DEFAULT_RULES)


def orders(user: str, count: int, *, start: int = 0, channel: str = "wechat") -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "userId": user,
            "event": "Order Completed",
            "properties": {"total": 10 * (i + 1), "order_id": f"{user}-{start + i}"},
            "context": {"campaign": {"source": channel}},
        }
        for i in range(start, start + count)
    ]


def views(anonymous_id: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "anonymousId": anonymous_id,
            "event": "Product Viewed",
            "properties": {"sku": f"sku-{i}", "phone_hint": "13900001111"},
        }
        for i in range(count)
    ]


def store_ids(runtime: Runtime, workspace_id: int) -> list[int]:
    with read(runtime.engine) as conn:
        return list(
            conn.execute(
                select(events.c.id).where(events.c.workspace_id == workspace_id).order_by(events.c.id)
            ).scalars()
        )


def mirror_ids(runtime: Runtime, workspace_id: int) -> list[int]:
    with open_engine(runtime, workspace_id) as engine:
        return list(engine.execute(select(events.c.id).order_by(events.c.id)).scalars())


def per_profile(rows: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in rows), key=repr)


def answers(runtime: Runtime, workspace_id: int) -> dict[str, Any]:
    """A handful of report-shaped questions, asked of the engine."""
    e = mirror_events
    with open_engine(runtime, workspace_id) as engine:
        return {
            "by_name": per_profile(
                engine.execute(select(e.c.name, func.count(), func.sum(e.c.revenue)).group_by(e.c.name))
            ),
            "by_profile": per_profile(engine.execute(select(e.c.profile_id, func.count()).group_by(e.c.profile_id))),
            "by_channel": per_profile(engine.execute(select(e.c.channel, func.count()).group_by(e.c.channel))),
            "people": engine.scalar(select(func.count(func.distinct(e.c.profile_id)))),
            "user_ids": per_profile(engine.execute(select(e.c.user_id, func.count()).group_by(e.c.user_id))),
            "ids": list(engine.execute(select(e.c.id).order_by(e.c.id)).scalars()),
        }


def test_sync_appends_exactly_the_new_events_and_is_idempotent(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, orders("u1", 10))
    first = sync(runtime, workspace.id)
    assert first.appended == 10 and first.parts == 1
    assert sync(runtime, workspace.id).appended == 0
    assert sync(runtime, workspace.id).parts == 1  # nothing new, no empty part
    send(runtime, workspace.id, orders("u2", 5))
    assert sync(runtime, workspace.id).appended == 5
    assert mirror_ids(runtime, workspace.id) == store_ids(runtime, workspace.id)
    assert len(store_ids(runtime, workspace.id)) == 15


def test_the_engine_reads_extracted_revenue_and_channel(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, orders("u1", 3, channel="xiaohongshu") + views("device-9", 2))
    sync(runtime, workspace.id)
    result = answers(runtime, workspace.id)
    assert ("Order Completed", 3, 60.0) in result["by_name"]  # totals 10 + 20 + 30
    assert ("Product Viewed", 2, None) in result["by_name"]
    assert (("xiaohongshu", 3) in result["by_channel"]) and ((None, 2) in result["by_channel"])


def test_an_event_arriving_late_with_an_old_timestamp_is_mirrored(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, orders("u1", 2))
    sync(runtime, workspace.id)
    old = (clock.now() - timedelta(days=400)).isoformat()
    send(runtime, workspace.id, [{"type": "track", "userId": "u1", "event": "Store Visit", "timestamp": old}])
    assert sync(runtime, workspace.id).appended == 1
    cutoff = clock.now() - timedelta(days=300)
    with open_engine(runtime, workspace.id) as engine:
        late = engine.execute(select(events.c.name, events.c.timestamp).where(events.c.timestamp < cutoff)).all()
    assert [name for name, _ in late] == ["Store Visit"]
    assert late[0][1] < cutoff  # Timestamp columns come back as datetimes, as from the store


def test_a_merge_after_sync_counts_the_merged_profiles_events_under_the_survivor(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, views("device-1", 4) + orders("u1", 2))
    sync(runtime, workspace.id)
    before = answers(runtime, workspace.id)
    assert before["people"] == 2
    send(runtime, workspace.id, [{"type": "identify", "userId": "u1", "anonymousId": "device-1"}])
    report = sync(runtime, workspace.id)
    assert report.profile_map_rewritten
    after = answers(runtime, workspace.id)
    assert after["people"] == 1
    with read(runtime.engine) as conn:
        expected = per_profile(
            conn.execute(
                select(events.c.profile_id, func.count())
                .where(events.c.workspace_id == workspace.id)
                .group_by(events.c.profile_id)
            )
        )
    assert after["by_profile"] == expected == [(expected[0][0], 7)]


def test_an_erased_persons_data_is_gone_from_the_engine_and_from_the_files(runtime: Runtime, workspace) -> None:
    send(
        runtime,
        workspace.id,
        views("device-2", 3)
        + orders("erase-me", 2)
        + [{"type": "identify", "userId": "erase-me", "anonymousId": "device-2", "traits": {"name": "王小明"}}]
        + orders("keep-me", 1),
    )
    sync(runtime, workspace.id)
    with write(runtime.engine) as conn:
        from siyu.identity.models import Identifier
        from siyu.identity.store import find_profile_id

        victim = resolve_profile_id(
            conn, workspace.id, find_profile_id(conn, workspace.id, Identifier("user_id", "erase-me"))
        )
        erase_profile(conn, workspace.id, victim, actor="test", reason="PIPL request", at=clock.now())
    report = sync(runtime, workspace.id)
    assert report.scrubbed_parts == 1 and report.tables_snapshotted
    e = mirror_events
    with open_engine(runtime, workspace.id) as engine:
        theirs = engine.execute(
            select(e.c.name, e.c.user_id, e.c.anonymous_id, e.c.properties, e.c.revenue, e.c.channel).where(
                e.c.profile_id == victim
            )
        ).all()
        traits = engine.execute(
            select(func.count())
            .select_from(engine_profiles())
            .where(engine_profiles().c.id == victim, engine_profiles().c.traits["name"].as_string() == "王小明")
        ).scalar()
        kept = engine.scalar(select(func.count()).where(e.c.user_id == "keep-me"))
    assert len(theirs) == 6 and {row[1:] for row in theirs} == {(None, None, None, None, None)}
    assert sorted(row[0] for row in theirs) == ["Order Completed"] * 2 + ["Product Viewed"] * 3 + ["identify"]
    assert traits == 0 and kept == 1
    # Not only hidden by the view: no file the manifest lists still holds the person's identifiers.
    directory = mirror_directory(runtime, workspace.id)
    manifest = directory.read_manifest()
    files = [str(directory.file(p.file)) for p in manifest.parts]
    leaked = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM read_parquet({files}) WHERE user_id = 'erase-me' "
            "OR anonymous_id = 'device-2' OR properties LIKE '%13900001111%'"
        )
        .fetchone()[0]
    )
    assert leaked == 0
    assert rebuild_answers_match(runtime, workspace.id)


def engine_profiles():  # noqa: ANN201 - the operational table, which the engine's view mirrors
    from siyu.db.tables import profiles

    return profiles


def rebuild_answers_match(runtime: Runtime, workspace_id: int) -> bool:
    incremental = answers(runtime, workspace_id)
    rebuild(runtime, workspace_id)
    rebuilt = answers(runtime, workspace_id)
    assert rebuilt == incremental
    return True


def test_rebuild_gives_the_same_answers_as_incremental_sync(runtime: Runtime, workspace) -> None:
    send(runtime, workspace.id, views("device-a", 5) + orders("ua", 3))
    sync(runtime, workspace.id)
    send(runtime, workspace.id, orders("ub", 2, channel="douyin") + views("device-b", 2))
    sync(runtime, workspace.id)
    send(
        runtime,
        workspace.id,
        [
            {"type": "identify", "userId": "ua", "anonymousId": "device-a"},
            {"type": "alias", "userId": "ub", "previousId": "device-b"},
        ],
    )
    send(runtime, workspace.id, orders("ua", 1, start=10))
    sync(runtime, workspace.id)
    assert rebuild_answers_match(runtime, workspace.id)
    assert answers(runtime, workspace.id)["ids"] == store_ids(runtime, workspace.id)
    assert status(runtime, workspace.id)["rows"] == len(store_ids(runtime, workspace.id))


def test_another_workspaces_rows_never_appear(runtime: Runtime, workspace) -> None:
    other = make_workspace(runtime, "other")
    send(runtime, workspace.id, orders("mine", 3))
    send(runtime, other.id, orders("theirs", 4))
    sync(runtime, workspace.id)
    sync(runtime, other.id)
    with open_engine(runtime, workspace.id) as engine:
        assert engine.scalar(select(func.count()).select_from(events)) == 3
        assert engine.scalar(select(func.count()).select_from(events).where(events.c.workspace_id != workspace.id)) == 0
        assert engine.scalar(select(func.count()).select_from(engine_profiles())) == 1
    assert mirror_ids(runtime, other.id) == store_ids(runtime, other.id)


def realistic_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Seeded, varied events: times over 90 days, 400 people, unique order ids, prices, skus, devices."""
    rng = random.Random(seed)
    channels = ["wechat", "wecom", "douyin", "xiaohongshu", "tmall", None]
    now = clock.now()
    batch = []
    for _ in range(count):
        person = rng.randrange(400)
        at = (now - timedelta(seconds=rng.randrange(90 * 86_400))).isoformat()
        context = {
            "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            "userAgent": rng.choice(
                ["Mozilla/5.0 (iPhone) MicroMessenger/8.0.47", "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.49"]
            ),
        }
        channel = rng.choice(channels)
        if channel:
            context["campaign"] = {"source": channel, "name": f"campaign-{rng.randrange(20)}"}
        if rng.random() < 0.15:
            properties = {
                "order_id": f"E{rng.randrange(10**12):012d}",
                "total": round(rng.uniform(29, 2999), 2),
                "currency": "CNY",
                "products": [
                    {"sku": f"SKU-{rng.randrange(500):04d}", "quantity": rng.randrange(1, 4)}
                    for _ in range(rng.randrange(1, 4))
                ],
            }
            event = "Order Completed"
        else:
            event = rng.choice(["Product Viewed", "Page Viewed", "Cart Viewed", "Product Added", "Coupon Claimed"])
            properties = {
                "sku": f"SKU-{rng.randrange(500):04d}",
                "price": round(rng.uniform(29, 999), 2),
                "category": rng.choice(["美妆", "护肤", "香水", "个护"]),
                "path": f"/p/{rng.randrange(500)}",
            }
        who = {"userId": f"user-{person}"} if rng.random() < 0.7 else {"anonymousId": f"device-{person}"}
        batch.append(
            {"type": "track", **who, "event": event, "properties": properties, "context": context, "timestamp": at}
        )
    return batch


def test_the_mirror_is_at_most_a_quarter_of_the_event_table(runtime: Runtime, workspace) -> None:
    batch = realistic_events(4000)
    for start in range(0, len(batch), 500):
        send(runtime, workspace.id, batch[start : start + 500])
    sync(runtime, workspace.id)
    figures = status(runtime, workspace.id)
    assert figures["rows"] == 4000 and figures["store_event_bytes"]
    print(
        f"\nmirror {figures['event_bytes']} bytes vs event table {figures['store_event_bytes']} bytes "
        f"(prorated): ratio {figures['size_ratio']}"
    )
    assert figures["size_ratio"] <= 0.25


def test_the_mirror_derives_revenue_and_channel_as_rollups_do() -> None:
    """A column's JSON is parsed only when a key the mirror needs could be in it; the answers are those of
    rollups' own order_amount and channel_of, whichever of the three places names the channel."""
    from siyu.analytics.mirror_files import event_batch
    from siyu.analytics.mirror_store import EventRow
    from siyu.profiles.rollups import channel_of, order_amount

    cases = [  # properties, traits, context
        ('{"total": 179.8, "channel": "tmall"}', None, '{"campaign": {"source": "xiaohongshu"}}'),
        ('{"revenue": "89.90"}', '{"channel": "store"}', '{"ip": "10.0.0.1"}'),
        ('{"sku": "LIP-01"}', '{"channel": "  staff-link  "}', None),
        ('{"cart": {"total": 5}}', None, '{"campaign": {"medium": "kol"}}'),
        (None, None, None),
        ('{"channel": ""}', '{"name": "李娜"}', '{"campaign": "not an object"}'),
    ]
    rows = [EventRow(i, 1, i, "track", "Order Completed", 0, 0, "http", None, "u", p, t, c)
            for i, (p, t, c) in enumerate(cases)]
    batch = event_batch(rows).to_pydict()

    def expected(text: str | None) -> dict:
        return orjson.loads(text) if text else {}

    assert batch["revenue"] == [order_amount(expected(p)) if {"total", "revenue"} & set(expected(p)) else None
                                for p, _, _ in cases]
    assert batch["channel"] == [channel_of(expected(p), expected(c), expected(t)) for p, t, c in cases]
    assert batch["channel"] == ["xiaohongshu", "store", "staff-link", None, None, None]
    assert batch["properties"] == [p for p, _, _ in cases] and batch["id"] == list(range(len(cases)))
    assert event_batch([]).num_rows == 0
