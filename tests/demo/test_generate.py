"""The demo brand: deterministic, realistic enough to need merges, consistent with its own events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from siyu.db.engine import read
from siyu.db.tables import events, identities, identity_conflicts, profiles
from siyu.demo.generate import generate
from siyu.demo.store import summary
from siyu.demo.story import SHARED_TABLET, arrival, person_of, tell
from siyu.runtime import Runtime
from tests.conftest import free_port, make_workspace

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_same_seed_tells_the_same_story_and_another_seed_does_not() -> None:
    assert tell(42, 7, NOW).messages == tell(42, 7, NOW).messages
    assert tell(42, 7, NOW).messages != tell(43, 7, NOW).messages
    assert all(m["timestamp"] <= NOW.isoformat() for i in range(200) for m in tell(1, i, NOW).messages)


def _per_profile(conn, workspace_id: int) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """(orders, spend) per live profile from the rollups, and the same counted from the event log."""
    rollups = {row.id: (row.order_count, round(row.total_spend, 2)) for row in conn.execute(
        select(profiles.c.id, profiles.c.order_count, profiles.c.total_spend).where(
            profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None)))}
    from_log: dict[int, tuple[int, float]] = {p: (0, 0.0) for p in rollups}
    for profile_id, properties in conn.execute(select(events.c.profile_id, events.c.properties).where(
            events.c.workspace_id == workspace_id, events.c.name == "Order Completed")):
        count, spend = from_log.get(profile_id, (0, 0.0))
        from_log[profile_id] = (count + 1, round(spend + properties["total"], 2))
    return rollups, from_log


def test_generated_brand_needs_merges_and_refuses_unsafe_ones(runtime: Runtime) -> None:
    workspace = make_workspace(runtime, "demo")
    sent = generate(runtime, workspace.id, customers=300, seed=5, now=NOW)
    with read(runtime.engine) as conn:
        figures = summary(conn, workspace.id)
        refused = {row.identifier_value for row in conn.execute(select(identity_conflicts.c.identifier_value).where(
            identity_conflicts.c.workspace_id == workspace.id))}
        names = set(conn.execute(select(events.c.name).where(events.c.workspace_id == workspace.id)).scalars())
    assert figures["events"] == sent
    assert figures["merges"] > 30  # Tmall buyers who later follow the official account, and more
    assert figures["conflicts"] > 0
    assert SHARED_TABLET in refused  # the store's sign-up tablet does not glue its members together
    assert set(figures["by_channel"]) == {"xiaohongshu", "tmall_card", "store", "staff_link", "search", "invite"}
    assert 250 <= figures["profiles"] <= 330
    assert {"Followed", "Unfollowed", "Product Viewed", "Product Added", "Order Completed", "Message Opened",
            "Invite Sent", "Invite Accepted", "identify", "page"} <= names


def test_family_members_sharing_a_phone_keep_their_own_profiles(runtime: Runtime) -> None:
    workspace = make_workspace(runtime, "demo")
    generate(runtime, workspace.id, customers=200, seed=5, now=NOW)
    mother, daughter = person_of(5, 97), person_of(5, 98)
    assert mother.phone == daughter.phone
    with read(runtime.engine) as conn:
        owners = dict(conn.execute(select(identities.c.value, identities.c.profile_id).where(
            identities.c.workspace_id == workspace.id, identities.c.type == "wechat_unionid",
            identities.c.value.in_([mother.unionid, daughter.unionid]))).all())
    assert len(owners) == 2  # with seed 5 both reach WeChat (Tmall parcel card, official account)
    assert owners[mother.unionid] != owners[daughter.unionid]


def test_tmall_buyer_and_official_account_follower_are_one_profile(runtime: Runtime) -> None:
    workspace = make_workspace(runtime, "demo")
    generate(runtime, workspace.id, customers=100, seed=5, now=NOW)
    buyers = [i for i in range(100) if arrival(5, i, NOW).channel == "tmall_card" and i % 97 not in (0, 1)]
    assert buyers
    with read(runtime.engine) as conn:
        for index in buyers:
            person = person_of(5, index)
            owners = set(conn.execute(select(identities.c.profile_id).where(
                identities.c.workspace_id == workspace.id,
                ((identities.c.type == "platform_buyer_id:tmall") & (identities.c.value == f"tb_5_{index}"))
                | ((identities.c.type == "wechat_unionid") & (identities.c.value == person.unionid)))).scalars())
            assert len(owners) == 1, index


def test_rollups_agree_with_the_event_log(runtime: Runtime) -> None:
    workspace = make_workspace(runtime, "demo")
    generate(runtime, workspace.id, customers=200, seed=9, now=NOW)
    with read(runtime.engine) as conn:
        live = profiles.c.merged_into.is_(None)
        rollup_events, without_channel = conn.execute(select(
            func.sum(profiles.c.event_count), func.count().filter(profiles.c.first_channel.is_(None))).where(
            profiles.c.workspace_id == workspace.id, live)).one()
        logged_events = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id, events.c.profile_id.is_not(None))).scalar_one()
        orphans = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id,
            events.c.profile_id.in_(select(profiles.c.id).where(profiles.c.workspace_id == workspace.id,
                                                                profiles.c.merged_into.is_not(None))))
        ).scalar_one()
        rollups, from_log = _per_profile(conn, workspace.id)
    assert rollup_events == logged_events
    assert orphans == 0  # no event points at a merged-away profile
    assert without_channel == 0  # every customer has a first channel
    assert rollups == from_log  # orders and spend, profile by profile
    assert sum(count for count, _ in rollups.values()) > 100


def test_two_runs_with_one_seed_store_identical_data(runtime: Runtime) -> None:
    def snapshot(workspace_id: int) -> tuple:
        with read(runtime.engine) as conn:
            log = conn.execute(select(events.c.message_id, events.c.name, events.c.timestamp, events.c.properties)
                               .where(events.c.workspace_id == workspace_id).order_by(events.c.message_id)).all()
            ids = conn.execute(select(identities.c.type, identities.c.value).where(
                identities.c.workspace_id == workspace_id).order_by(identities.c.type, identities.c.value)).all()
            people = sorted(repr(tuple(r)) for r in conn.execute(select(
                profiles.c.first_channel, profiles.c.last_channel, profiles.c.event_count, profiles.c.order_count,
                profiles.c.total_spend, profiles.c.first_seen_at, profiles.c.traits).where(
                profiles.c.workspace_id == workspace_id, profiles.c.merged_into.is_(None))))
            figures = summary(conn, workspace_id)
        return [tuple(r) for r in log], [tuple(r) for r in ids], people, figures

    first, second = make_workspace(runtime, "demo"), make_workspace(runtime, "demo")
    generate(runtime, first.id, customers=120, seed=3, now=NOW)
    generate(runtime, second.id, customers=120, seed=3, now=NOW)
    assert snapshot(first.id) == snapshot(second.id)
    again = generate(runtime, first.id, customers=120, seed=3, now=NOW)
    assert again > 0 and snapshot(first.id) == snapshot(second.id)  # re-running stores nothing twice


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(data_dir)}


def test_siyu_demo_no_serve_prints_what_it_generated(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = subprocess.run([sys.executable, "-m", "siyu", "demo", "--customers", "200", "--no-serve"],
                            env=_env(database_url, tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for expected in ("customers (profiles)", "merges", "demo@siyu.local", "Write key", "Secret key",
                     "群发 Broadcast: {'broadcast'"):
        assert expected in result.stdout
    again = subprocess.run([sys.executable, "-m", "siyu", "demo", "--customers", "200", "--no-serve"],
                           env=_env(database_url, tmp_path), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already generated" in again.stdout


def test_siyu_demo_serves_the_api(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SIYU_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("SIYU_DATABASE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "siyu", "demo", "--customers", "100", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("siyu demo never served /api/health")
        assert json.loads(response.text)["status"] == "ok"
        assert (tmp_path / "data" / "siyu.db").exists()  # the embedded default: SQLite in the data dir
        assert process.stdout is not None
        printed = ""
        while "Secret key" not in printed:  # printed before serving, so it is in the pipe already
            printed = process.stdout.readline()
        secret_key = printed.split()[-1]
        member = next(person_of(42, i) for i in range(100) if arrival(42, i, NOW).channel == "store")
        found = httpx.get(f"http://127.0.0.1:{port}/api/profiles/lookup",
                          params={"type": "member_id", "value": member.member},
                          headers={"Authorization": f"Bearer {secret_key}"}, timeout=10)
        assert found.status_code == 200, found.text  # the printed key reads the generated brand
        assert ("member_id", member.member) in {(i["type"], i["value"]) for i in found.json()["identities"]}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_siyu_demo_refuses_a_busy_port_before_generating(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "SIYU_DATA_DIR": str(tmp_path / "data")}
        env.pop("SIYU_DATABASE_URL", None)
        result = subprocess.run([sys.executable, "-m", "siyu", "demo", "--customers", "50", "--port", str(port)],
                                env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "siyu.db").exists()  # nothing generated for a server that cannot start


def test_siyu_demo_rejects_a_customer_count_out_of_range(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "siyu", "demo", "--customers", "0", "--no-serve"],
                            env={**os.environ, "SIYU_DATA_DIR": str(tmp_path)}, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "--customers" in result.stderr
