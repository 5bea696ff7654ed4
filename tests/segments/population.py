"""A small generated population, written straight into the operational tables, and the same people
as plain :class:`~siyu.segments.evaluate.Person` values — so the SQL compiler and the reference
evaluator can be asked the same question about the same people."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from siyu.db.engine import write
from siyu.db.tables import (
    consents,
    events,
    identities,
    profile_scores,
    profile_tags,
    profiles,
    segment_members,
    tags,
)
from siyu.runtime import Runtime
from siyu.segments.evaluate import Occurrence, Person

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
CITIES = ["上海", "北京", "杭州", "Shanghai", "广州"]
TAGS = ["VIP", "敏感肌", "KOC", "黑名单", "学生"]
EVENTS = ["Order Completed", "Product Viewed", "Followed", "Invite Sent"]
CHANNELS = ["xiaohongshu", "tmall_card", "store", "staff_link", None]
ID_TYPES = ["phone", "email", "wechat_unionid", "wechat_openid:wx1", "wechat_openid:wx2", "member_id",
            "platform_buyer_id:tmall"]
RFM = ["champions", "loyal", "at_risk", "hibernating"]


def _trait_values(rng: random.Random) -> dict[str, Any]:
    traits: dict[str, Any] = {}
    if rng.random() < 0.8:
        traits["city"] = rng.choice(CITIES)
    if rng.random() < 0.7:
        traits["age"] = rng.choice([18, 22, 25, 30, 30, 41, 55]) if rng.random() < 0.9 else "thirty"
    if rng.random() < 0.5:
        traits["is_member"] = rng.random() < 0.5
    if rng.random() < 0.6:
        day = NOW - timedelta(days=rng.randint(0, 400))
        traits["signup_date"] = day.strftime("%Y-%m-%d") if rng.random() < 0.5 else day.strftime("%Y-%m-%dT%H:%M:%S")
    if rng.random() < 0.3:
        traits["skin"] = rng.choice(["dry", "oily", "mixed-oily"])
    return traits


def _occurrences(rng: random.Random) -> list[Occurrence]:
    found = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8])):
        name = rng.choice(EVENTS)
        when = NOW - timedelta(hours=rng.randint(-24, 24 * 300))  # a few in the future (clock skew)
        props: dict[str, Any] = {}
        if name == "Order Completed":
            amount = rng.choice([49, 99, 199, 299, 1299])
            props = {"revenue": amount} if rng.random() < 0.8 else {"total": amount}
            if rng.random() < 0.2:
                props = {"revenue": "n/a"}
            props["channel"] = rng.choice(["tmall", "miniprogram", "store"])
        elif rng.random() < 0.5:
            props = {"sku": rng.choice(["LIP-01", "EYE-02", "SKIN-03"]), "price": rng.choice([59, 89])}
        found.append(Occurrence(name, when, props))
    return found


def build(rt: Runtime, workspace_id: int, size: int = 80, seed: int = 7) -> dict[int, Person]:
    rng = random.Random(seed)
    people: dict[int, Person] = {}
    with write(rt.engine) as conn:
        tag_ids = {}
        for name in TAGS:
            tag_ids[name] = conn.execute(insert(tags).values(workspace_id=workspace_id, name=name, created_at=NOW)
                                         .returning(tags.c.id)).scalar_one()
        segment_id = 9_001
        for index in range(size):
            occurrences = _occurrences(rng)
            orders = [o for o in occurrences if o.name == "Order Completed"]
            rollups = {
                "first_seen_at": min((o.timestamp for o in occurrences), default=None),
                "last_seen_at": max((o.timestamp for o in occurrences), default=None),
                "created_at": NOW - timedelta(days=rng.randint(0, 500)),
                "event_count": len(occurrences), "order_count": len(orders),
                "total_spend": float(sum(rng.choice([0, 99, 500]) for _ in orders)),
                "first_order_at": min((o.timestamp for o in orders), default=None),
                "last_order_at": max((o.timestamp for o in orders), default=None),
                "first_channel": rng.choice(CHANNELS), "last_channel": rng.choice(CHANNELS),
            }
            merged = index % 17 == 16  # merged-away rows must never be members
            pid = conn.execute(insert(profiles).values(
                workspace_id=workspace_id, updated_at=NOW, traits=_trait_values(rng), trait_meta={},
                merged_into=2**40 if merged else None, **rollups).returning(profiles.c.id, profiles.c.traits)).one()
            person_tags = frozenset(rng.sample(TAGS, rng.randint(0, 3)))
            for name in person_tags:
                conn.execute(insert(profile_tags).values(workspace_id=workspace_id, profile_id=pid.id,
                                                         tag_id=tag_ids[name], source="manual", added_at=NOW))
            types = frozenset(rng.sample(ID_TYPES, rng.randint(0, 3)))
            for type_ in types:
                conn.execute(insert(identities).values(workspace_id=workspace_id, type=type_,
                                                       value=f"{type_}-{pid.id}", profile_id=pid.id,
                                                       first_seen_at=NOW, last_seen_at=NOW, source="test"))
            person_consents = {}
            for channel in rng.sample(["sms", "wechat", "any", "email"], rng.randint(0, 2)):
                purpose = rng.choice(["marketing", "transactional"])
                status = rng.choice(["granted", "revoked"])
                person_consents[(channel, purpose)] = status
                conn.execute(insert(consents).values(workspace_id=workspace_id, profile_id=pid.id, channel=channel,
                                                     purpose=purpose, status=status, source="test", updated_at=NOW))
            for number, occurrence in enumerate(occurrences):
                conn.execute(insert(events).values(
                    workspace_id=workspace_id, profile_id=pid.id, message_id=f"m-{pid.id}-{number}", type="track",
                    name=occurrence.name, timestamp=occurrence.timestamp, received_at=NOW, source="test",
                    properties=json.loads(json.dumps(occurrence.properties))))
            scores: dict[str, Any] = {}
            if rng.random() < 0.7:
                scores = {"rfm_recency": rng.randint(1, 5), "rfm_segment": rng.choice(RFM),
                          "p_alive": rng.choice([0.1, 0.5, 0.9]), "lifecycle_stage": rng.choice(["new", "dormant"])}
                conn.execute(insert(profile_scores).values(workspace_id=workspace_id, profile_id=pid.id,
                                                           updated_at=NOW, **scores))
            in_segment = rng.random() < 0.3
            if in_segment:
                conn.execute(insert(segment_members).values(workspace_id=workspace_id, segment_id=segment_id,
                                                            profile_id=pid.id, entered_at=NOW))
            if not merged:
                people[pid.id] = Person(traits=pid.traits, tags=person_tags, identity_types=types,
                                        consents=person_consents, events=occurrences, rollups=rollups,
                                        scores=scores, segments=frozenset({segment_id} if in_segment else ()))
    return people
