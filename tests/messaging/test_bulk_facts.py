"""The policy's facts read for a whole chunk of people (a broadcast's fan-out) are exactly what the
one-person reader gives each of them, for every channel, on generated people whose histories have
every kind of fact: consents both ways, messages inside and outside the cap window, follows and
unfollows at the same instant, customer-service messages, openids of several apps seen at
different times, WeCom adds with good and bad member ids, and subscription grants."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from siyu.db.engine import read, write
from siyu.db.tables import consents, events, identities, messages, profiles, subscribe_grants
from siyu.messaging import outbox, store
from siyu.messaging.broadcasts import decide_many
from siyu.messaging.bulk_facts import facts_many
from siyu.messaging.models import Channel, Purpose, Status
from siyu.messaging.outbox import AVAILABLE
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
APPS = ("wxA", "wxB")


def populate(runtime: Runtime, workspace_id: int, people: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    ids = []
    with write(runtime.engine) as conn:
        for _ in range(people):
            pid = conn.execute(profiles.insert().values(workspace_id=workspace_id, created_at=NOW, updated_at=NOW,
                                                        traits={}, trait_meta={}).returning(profiles.c.id)).scalar_one()
            ids.append(pid)
            for channel in ("sms", "email", "wechat_template", "wecom"):
                for purpose in ("marketing", "transactional"):
                    if rng.random() < 0.3:
                        conn.execute(consents.insert().values(
                            workspace_id=workspace_id, profile_id=pid, channel=channel, purpose=purpose,
                            status=rng.choice(["granted", "revoked"]), source="test", updated_at=NOW))
            for _ in range(rng.randint(0, 4)):
                conn.execute(messages.insert().values(
                    workspace_id=workspace_id, profile_id=pid, channel=rng.choice(["sms", "email", "wecom"]),
                    purpose=rng.choice(["marketing", "transactional"]), source="test",
                    idempotency_key=uuid.uuid4().hex, status=rng.choice([s.value for s in Status]), payload={},
                    due_at=NOW, created_at=NOW, updated_at=NOW,
                    sent_at=None if rng.random() < 0.2 else NOW - timedelta(days=rng.uniform(0, 40))))
            kinds = ["phone", "email", "wecom_external_userid:ww1"] + [f"wechat_openid:{a}" for a in APPS]
            for kind in rng.sample(kinds, rng.randint(0, len(kinds))):
                for n in range(rng.randint(1, 2)):
                    seen = NOW - timedelta(days=rng.choice([1, 2, 2, 5]))
                    conn.execute(identities.insert().values(
                        workspace_id=workspace_id, type=kind, value=f"{kind}-{pid}-{n}", profile_id=pid,
                        first_seen_at=seen, last_seen_at=seen, source="test"))
            instant = NOW - timedelta(days=rng.randint(1, 3))
            names = ["Followed", "Unfollowed", "Message Received", "WeCom Contact Added", "QR Scanned", "Menu Clicked"]
            for _ in range(rng.randint(0, 5)):
                name = rng.choice(names)
                properties = {"userid": rng.choice(["zhangsan", "bad id!", "li.si"])} if "WeCom" in name else {}
                at = instant if rng.random() < 0.5 else instant - timedelta(hours=rng.randint(1, 50))
                conn.execute(events.insert().values(
                    workspace_id=workspace_id, profile_id=pid, message_id=uuid.uuid4().hex, type="track", name=name,
                    timestamp=at, received_at=at, source="test", properties=properties))
            if rng.random() < 0.4:
                conn.execute(subscribe_grants.insert().values(
                    workspace_id=workspace_id, profile_id=pid, template_id=rng.choice(["T1", "T2"]),
                    granted_at=NOW, source="test", created_at=NOW))
    return ids


def person(runtime: Runtime, workspace_id: int, *, kinds: tuple[str, ...] = (), granted: tuple[str, ...] = (),
           sent: tuple[tuple[str, str, timedelta], ...] = ()) -> int:
    """One profile with these identities (``kind``: a value made up), marketing consents granted,
    and messages sent (channel, purpose, how long ago)."""
    with write(runtime.engine) as conn:
        pid = conn.execute(profiles.insert().values(workspace_id=workspace_id, created_at=NOW, updated_at=NOW,
                                                    traits={}, trait_meta={}).returning(profiles.c.id)).scalar_one()
        for kind in kinds:
            conn.execute(identities.insert().values(workspace_id=workspace_id, type=kind, value=f"{kind}-{pid}",
                                                    profile_id=pid, first_seen_at=NOW, last_seen_at=NOW, source="test"))
        for channel in granted:
            conn.execute(consents.insert().values(workspace_id=workspace_id, profile_id=pid, channel=channel,
                                                  purpose="marketing", status="granted", source="test", updated_at=NOW))
        for channel, purpose, ago in sent:
            conn.execute(messages.insert().values(
                workspace_id=workspace_id, profile_id=pid, channel=channel, purpose=purpose, source="test",
                idempotency_key=uuid.uuid4().hex, status="sent", payload={}, due_at=NOW - ago, created_at=NOW - ago,
                updated_at=NOW - ago, sent_at=NOW - ago))
    return pid


def test_facts_for_a_chunk_equal_the_facts_of_each_person(runtime: Runtime, workspace) -> None:
    ids = populate(runtime, workspace.id, 80, seed=7)
    with read(runtime.engine) as conn:
        # every id (read as one range of ids), and every third (read as a list)
        for chosen in (ids, ids[::3]):
            for channel in Channel:
                scopes = [None, *APPS] if channel.value.startswith("wechat") else [None]
                for scope in scopes:
                    bulk = facts_many(conn, workspace.id, chosen, channel, NOW, scope)
                    assert set(bulk) == set(chosen)
                    for pid in chosen:
                        assert bulk[pid] == store.facts(conn, workspace.id, pid, channel, NOW, scope=scope), \
                            (channel, scope, pid)
        assert any(f.history for f in bulk.values()) and any(f.consents for f in bulk.values())
        wechat = facts_many(conn, workspace.id, ids, Channel.WECHAT_TEMPLATE, NOW)
        assert {f.wechat_followed for f in wechat.values()} == {True, False, None}
        wecom = facts_many(conn, workspace.id, ids, Channel.WECOM, NOW)
        assert any(f.address and "/" in f.address for f in wecom.values())  # some have an owning member


POLICIES = [  # the workspace's settings.messaging: defaults, and each rule made to bite at NOW (20:00 in Shanghai)
    {},
    {"quiet_start": "19:00", "quiet_end": "08:00", "cooldown_minutes": 60 * 24 * 3},
    {"caps": [{"limit": 1, "days": 7}, {"limit": 0, "days": 1, "channel": "email"}], "wecom_limit": "day",
     "marketing_needs_grant": ["sms", "email", "wechat"]},
]


def test_verdicts_for_a_chunk_equal_the_policy_per_person(runtime: Runtime, workspace) -> None:
    """The fan-out decides once per distinct set of facts (and once for everyone whose history the
    policy didn't look at): every verdict is still the one the per-message path gives the person."""
    ids = populate(runtime, workspace.id, 80, seed=11)
    ids.append(person(runtime, workspace.id, kinds=("wecom_external_userid:ww1",),
                      sent=(("wecom", "transactional", timedelta(hours=1)),)))  # WeCom's 1-a-day rule
    seen: set[tuple[str, str | None]] = set()
    for raw in POLICIES:
        with write(runtime.engine) as conn:
            workspace_store.update_workspace_settings(conn, workspace.id, {"messaging": raw})
        with read(runtime.engine) as conn:
            current = workspace_store.get_workspace(conn, workspace.id)
            for channel in AVAILABLE:
                for purpose in Purpose:
                    bulk = decide_many(conn, current, ids, channel, purpose, NOW)
                    for pid, (verdict, address) in zip(ids, bulk, strict=True):
                        one, facts = outbox.decide_now(conn, current, pid, channel, purpose, NOW)
                        assert (verdict, address) == (one, facts.address), (raw, channel, purpose, pid)
                        seen.add((verdict.action, verdict.reason))
    # the generated people meet every rule that can stop or defer on these channels
    assert {("send", None), ("stop", "policy.unsubscribed"), ("stop", "policy.no_consent"),
            ("stop", "policy.no_address"), ("stop", "policy.unfollowed"), ("stop", "policy.outside_window"),
            ("stop", "policy.no_subscription"), ("stop", "policy.frequency_cap"), ("stop", "policy.wecom_limit"),
            ("defer", "policy.cooldown"), ("defer", "policy.quiet_hours")} <= seen, seen
