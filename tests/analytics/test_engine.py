"""One Core statement over siyu.db.tables, two evaluators: the operational store and the DuckDB engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, select

from siyu import clock
from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import sync
from siyu.db.engine import read, write
from siyu.db.tables import events, identities, profile_tags, profiles
from siyu.profiles import tag_store
from siyu.profiles.models import TagGroupKind
from siyu.runtime import Runtime
from tests.analytics.test_mirror import orders, realistic_events, send, views


def tagged_and_active(workspace_id: int, tag_id: int, more_than: int) -> Select[Any]:
    """Live profiles carrying the tag with more than ``more_than`` events: a segment-shaped query."""
    busy = (
        select(events.c.profile_id)
        .where(events.c.workspace_id == workspace_id)
        .group_by(events.c.profile_id)
        .having(func.count() > more_than)
    )
    return (
        select(func.count())
        .select_from(profiles)
        .where(
            profiles.c.workspace_id == workspace_id,
            profiles.c.merged_into.is_(None),
            profiles.c.erased_at.is_(None),
            profiles.c.id.in_(
                select(profile_tags.c.profile_id).where(
                    profile_tags.c.workspace_id == workspace_id, profile_tags.c.tag_id == tag_id
                )
            ),
            profiles.c.id.in_(busy),
        )
    )


def questions(workspace_id: int, tag_id: int, since: Any) -> dict[str, Select[Any]]:
    return {
        "tagged_and_active": tagged_and_active(workspace_id, tag_id, 5),
        "orders_by_day": select((events.c.timestamp // 86_400_000).label("day"), func.count())
        .where(events.c.workspace_id == workspace_id, events.c.name == "Order Completed", events.c.timestamp >= since)
        .group_by("day")
        .order_by("day"),
        "skus": select(events.c.properties["sku"].as_string().label("sku"), func.count())
        .where(events.c.workspace_id == workspace_id, events.c.name == "Product Viewed")
        .group_by("sku")
        .order_by(func.count().desc(), "sku")
        .limit(5),
        "people_with_a_user_id": select(func.count(func.distinct(identities.c.profile_id))).where(
            identities.c.workspace_id == workspace_id, identities.c.type == "user_id"
        ),
        "big_spenders_first_seen": select(func.count())
        .select_from(profiles)
        .where(
            and_(
                profiles.c.workspace_id == workspace_id,
                profiles.c.first_seen_at >= since,
                profiles.c.total_spend > 500,
                profiles.c.merged_into.is_(None),
            )
        ),
        "latest_event": select(func.max(events.c.timestamp)).where(events.c.workspace_id == workspace_id),
    }


def test_a_core_select_answers_the_same_on_the_store_and_on_the_engine(runtime: Runtime, workspace) -> None:
    batch = realistic_events(1500, seed=11)
    send(runtime, workspace.id, batch[:700])
    sync(runtime, workspace.id, snapshot_tables=True)
    send(
        runtime,
        workspace.id,
        batch[700:]
        + views("device-3", 8)
        + [{"type": "identify", "userId": "user-3", "anonymousId": "device-3"}]
        + orders("user-3", 2),
    )
    with write(runtime.engine) as conn:
        tag = tag_store.create_tag(
            conn, workspace.id, "heavy", group=None, kind=TagGroupKind.BUSINESS, description=None, at=clock.now()
        )
        live = select(profiles.c.id).where(
            profiles.c.workspace_id == workspace.id, profiles.c.merged_into.is_(None), profiles.c.id % 2 == 0
        )
        tag_store.add_tag(conn, workspace.id, tag["id"], live, "test", clock.now())
    sync(runtime, workspace.id, snapshot_tables=True)
    since = clock.now().replace(day=1) if clock.now().day > 1 else clock.now()
    asked = questions(workspace.id, tag["id"], since)
    with read(runtime.engine) as conn:
        expected = {name: [tuple(r) for r in conn.execute(query)] for name, query in asked.items()}
    with open_engine(runtime, workspace.id) as engine:
        got = {name: [tuple(r) for r in engine.execute(query)] for name, query in asked.items()}
    assert expected["tagged_and_active"][0][0] > 0 and len(expected["skus"]) == 5
    assert got == expected


def test_the_engine_is_empty_but_queryable_before_the_first_sync(runtime: Runtime, workspace) -> None:
    with open_engine(runtime, workspace.id) as engine:
        assert engine.scalar(tagged_and_active(workspace.id, 1, 0)) == 0
        assert engine.scalar(select(func.count()).select_from(events)) == 0
