"""Real time skips most segments for most events; this proves the skipping never misses a change.

Generated segments over the whole language, then rounds of generated activity through the real
writers — ingest (tracks, identifies with traits and identifier traits, new people, merges by
identify), tags, consent and trait edits through siyu.profiles — each followed by the worker's
real-time passes. After every round the stored membership (and size) of every segment must equal
a full evaluation at the same instant. Time moves between rounds, followed by a scheduled refresh:
relative windows drifting is the refresh's job, not real time's.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from siyu import clock
from siyu.db.engine import read, write
from siyu.db.tables import profile_scores, profiles, segment_members, segments
from siyu.profiles import editing, tag_store
from siyu.profiles.models import TagGroupKind
from siyu.profiles.tagging import tag_profiles
from siyu.runtime import Runtime
from siyu.segments import membership, realtime, realtime_store, store
from siyu.segments.compile import Context, live, members_query
from siyu.segments.parse import parse
from tests.ingest.test_pipeline import NOW, send
from tests.segments.definitions import definition
from tests.segments.population import CITIES, EVENTS, RFM, TAGS

TIMEZONE = "Asia/Shanghai"


class World:
    """The generated brand: who exists (by user id or anonymous id) and what can happen to them."""

    def __init__(self, runtime: Runtime, workspace_id: int, rng: random.Random) -> None:
        self.runtime, self.workspace_id, self.rng = runtime, workspace_id, rng
        self.known: list[dict[str, str]] = []  # how to address each person in a message
        self.serial = 0

    def _fresh(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def _traits(self) -> dict[str, Any]:
        rng = self.rng
        traits: dict[str, Any] = {}
        if rng.random() < 0.7:
            traits["city"] = rng.choice(CITIES)
        if rng.random() < 0.5:
            traits["age"] = rng.choice([18, 25, 30, 41])
        if rng.random() < 0.3:
            traits["is_member"] = rng.random() < 0.5
        if rng.random() < 0.4:
            traits["signup_date"] = (clock.now() - timedelta(days=rng.randint(0, 400))).strftime("%Y-%m-%d")
        if rng.random() < 0.3:
            traits["phone"] = f"1390{rng.randint(0, 9_999_999):07d}"
        if rng.random() < 0.2:
            traits["email"] = f"{self._fresh('p')}@shop.cn"
        return traits

    def _track(self, who: dict[str, str]) -> dict[str, Any]:
        rng = self.rng
        name = rng.choice(EVENTS)
        properties: dict[str, Any] = {"sku": rng.choice(["LIP-01", "EYE-02"]), "price": rng.choice([59, 89])}
        if name == "Order Completed":
            properties = {"revenue": rng.choice([49, 99, 199, 1299]), "channel": rng.choice(["tmall", "store"])}
        when = clock.now() - timedelta(hours=rng.randint(0, 24 * 200))
        message: dict[str, Any] = {"type": "track", "event": name, "properties": properties,
                                   "timestamp": when.isoformat(), **who}
        if rng.random() < 0.15:
            message["context"] = {"traits": {"city": rng.choice(CITIES)}}
        return message

    def newcomer(self) -> None:
        if self.rng.random() < 0.5:
            who = {"userId": self._fresh("u")}
            send(self.runtime, self.workspace_id, {"type": "identify", "traits": self._traits(), **who})
        else:
            who = {"anonymousId": self._fresh("a")}
        self.known.append(who)
        send(self.runtime, self.workspace_id, self._track(who))

    def activity(self) -> None:
        """One thing happens, chosen at random."""
        rng = self.rng
        roll = rng.random()
        who = rng.choice(self.known)
        if roll < 0.35:
            send(self.runtime, self.workspace_id, *[self._track(who) for _ in range(rng.randint(1, 3))])
        elif roll < 0.5:
            send(self.runtime, self.workspace_id, {"type": "identify", "traits": self._traits(), **who})
        elif roll < 0.58:
            self.newcomer()
        elif roll < 0.66:
            self._merge()
        else:
            self._brand_action()

    def _merge(self) -> None:
        """A known user identifies on a device another (anonymous) person used: the two become one."""
        users = [w for w in self.known if "userId" in w]
        devices = [w for w in self.known if "anonymousId" in w and "userId" not in w]
        if not users or not devices:
            return
        user, device = self.rng.choice(users), self.rng.choice(devices)
        send(self.runtime, self.workspace_id, {"type": "identify", "userId": user["userId"],
                                               "anonymousId": device["anonymousId"], "traits": self._traits()})

    def _brand_action(self) -> None:
        rng = self.rng
        with write(self.runtime.engine) as conn:
            people = list(conn.execute(select(profiles.c.id).where(*live(self.workspace_id))).scalars())
            person = rng.choice(people)
            roll = rng.random()
            if roll < 0.45:
                tag = tag_store.get_tag(conn, self.workspace_id, name=rng.choice(TAGS))
                tag_profiles(conn, self.workspace_id, {"id": tag["id"], "name": tag["name"], "group": None},
                             profile_ids=rng.sample(people, min(6, len(people))), source="manual", actor="test",
                             remove=rng.random() < 0.4)
            elif roll < 0.75:
                editing.set_consent(conn, self.workspace_id, person, rng.choice(["sms", "wechat", "any", "email"]),
                                    rng.choice(["marketing", "transactional"]), rng.choice(["granted", "revoked"]),
                                    "test", "test")
            else:
                editing.edit_traits(conn, self.workspace_id, person, {"city": rng.choice(CITIES)},
                                    ["age"] if rng.random() < 0.3 else [], "test")


def _generated_definition(rng: random.Random, saved: list[int]) -> Any:
    """A generated definition whose segment references point at segments saved before it."""
    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if "segment" in node:
                if not saved:
                    return {"trait": "city", "op": "eq", "value": rng.choice(CITIES)}
                return {**node, "segment": rng.choice(saved)}
            return {key: fix(value) for key, value in node.items()}
        if isinstance(node, list):
            return [fix(item) for item in node]
        return node

    return fix(definition(rng))


def _drain(runtime: Runtime, workspace_id: int) -> int:
    moved = 0
    while True:
        with write(runtime.engine) as conn:
            progress = realtime.process_new_events(conn, workspace_id, clock.now(), TIMEZONE, limit=40)
        moved += sum(entered + exited for entered, exited in progress.changes.values())
        if progress.events == 0:
            return moved


def _assert_agrees_with_a_full_evaluation(runtime: Runtime, workspace_id: int, round_: int) -> None:
    with read(runtime.engine) as conn:
        for s_id, name, raw in store.active_definitions(conn, workspace_id):
            expected = set(conn.execute(members_query(parse(raw), Context(workspace_id, clock.now()))).scalars())
            stored = set(conn.execute(select(segment_members.c.profile_id).where(
                segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == s_id)).scalars())
            size = conn.execute(select(segments.c.size).where(segments.c.workspace_id == workspace_id,
                                                              segments.c.id == s_id)).scalar_one()
            assert stored == expected, (f"round {round_}, segment {name} {raw}: real time missed "
                                        f"{sorted(expected - stored)} entering and {sorted(stored - expected)} leaving")
            assert size == len(stored), f"round {round_}, segment {name}: size {size}, {len(stored)} members"


@pytest.mark.parametrize("seed", [3, 17, 29])
def test_real_time_membership_equals_a_full_refresh_after_random_activity(
        runtime: Runtime, workspace, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    clock.freeze(NOW)
    world = World(runtime, workspace.id, rng)
    with write(runtime.engine) as conn:
        for name in TAGS:
            tag_store.create_tag(conn, workspace.id, name, group=None, kind=TagGroupKind.BUSINESS, description=None,
                                 at=NOW)
    for _ in range(30):
        world.newcomer()
    with write(runtime.engine) as conn:  # scores move only with the scoring job; some segments read them
        for person in conn.execute(select(profiles.c.id).where(*live(workspace.id))).scalars().all():
            if rng.random() < 0.7:
                conn.execute(insert(profile_scores).values(
                    workspace_id=workspace.id, profile_id=person, updated_at=NOW, rfm_segment=rng.choice(RFM),
                    rfm_recency=rng.randint(1, 5), p_alive=rng.choice([0.1, 0.5, 0.9])))
    saved: list[int] = []
    with write(runtime.engine) as conn:
        for number in range(24):
            segment = membership.save(conn, workspace.id, name=f"g{number}", description=None,
                                      definition=_generated_definition(rng, saved), actor="test", now=NOW,
                                      timezone=TIMEZONE)
            saved.append(segment["id"])

    pairs = {"evaluated": 0, "candidates": 0}  # (segment, person) pairs: answered vs. all there are
    members_among, evaluate_changes = realtime_store.members_among, membership.evaluate_changes

    def counting_members_among(conn, workspace_id, trees, profile_ids, now):  # noqa: ANN001, ANN202
        pairs["evaluated"] += len(trees) * len(profile_ids)
        return members_among(conn, workspace_id, trees, profile_ids, now)

    def counting_evaluate_changes(conn, workspace_id, changes, now, timezone):  # noqa: ANN001, ANN202
        pairs["candidates"] += len(saved) * len(changes)
        return evaluate_changes(conn, workspace_id, changes, now, timezone)

    monkeypatch.setattr(realtime_store, "members_among", counting_members_among)
    monkeypatch.setattr(membership, "evaluate_changes", counting_evaluate_changes)
    moved = 0
    for round_ in range(6):
        clock.advance(timedelta(hours=rng.randint(1, 24 * 20)))
        with write(runtime.engine) as conn:
            membership.refresh(conn, workspace.id, clock.now(), TIMEZONE)
        for _ in range(25):
            world.activity()
        moved += _drain(runtime, workspace.id)
        _assert_agrees_with_a_full_evaluation(runtime, workspace.id, round_)
    assert moved > 20, "the activity must move people in and out in real time, or the agreement proves nothing"
    assert 0 < pairs["evaluated"] < 0.8 * pairs["candidates"], f"the facets should skip some work: {pairs}"
