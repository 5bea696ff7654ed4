"""Customer value end to end, on SQLite and PostgreSQL: CDNOW orders in a workspace, `siyu clv fit`
and `POST /api/clv/fit` reproduce the published estimates, scores land in profile_scores beside the
other jobs' columns, and another workspace sees nothing.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from siyu import clock
from siyu.analytics.clv import ClvOptions, fit_orders
from siyu.analytics.clv_job import run_fit
from siyu.analytics.clv_summary import Orders, TimeUnit
from siyu.db.dialect import upsert
from siyu.db.engine import read, write
from siyu.db.tables import events, profile_scores, profiles
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import KeyKind, Role
from tests.analytics.data import cdnow
from tests.api.test_error_shape import assert_envelope
from tests.conftest import WorkspaceKeys, make_workspace

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALIBRATED = {"calibration_end": "1997-09-30", "time_unit": "week"}


def add_profiles(conn, workspace_id: int, count: int) -> list[int]:  # noqa: ANN001
    at = clock.now()
    rows = [
        {"workspace_id": workspace_id, "created_at": at, "updated_at": at, "traits": {}, "trait_meta": {}}
        for _ in range(count)
    ]
    return list(conn.execute(insert(profiles).returning(profiles.c.id, sort_by_parameter_order=True), rows).scalars())


def add_orders(conn, workspace_id: int, orders: list[tuple[int, date, float]]) -> None:  # noqa: ANN001
    """Order Completed events at 00:30 in Shanghai: the previous day in UTC, so a UTC cut would be wrong."""
    received = clock.now()
    rows = []
    for n, (profile_id, day, amount) in enumerate(orders):
        # Some orders carry the amount as properties.total, as a string: both are accepted.
        properties = {"total": str(amount)} if n % 5 == 0 else {"revenue": amount, "order_id": f"o{n}"}
        rows.append(
            {
                "workspace_id": workspace_id,
                "profile_id": profile_id,
                "message_id": f"order-{n}",
                "type": "track",
                "name": "Order Completed",
                "source": "test",
                "received_at": received,
                "timestamp": datetime.combine(day, time(0, 30), SHANGHAI).astimezone(UTC),
                "properties": properties,
            }
        )
    conn.execute(insert(events), rows)


@pytest.fixture(scope="module")
def shop(runtime: Runtime) -> tuple[WorkspaceKeys, dict[int, int]]:
    """A workspace holding the CDNOW sample: (keys, sample customer id -> profile id)."""
    keys = make_workspace(runtime, "cdnow")
    transactions = cdnow.transactions()
    with write(runtime.engine) as conn:
        ids = dict(zip(range(1, cdnow.CUSTOMERS + 1), add_profiles(conn, keys.id, cdnow.CUSTOMERS), strict=True))
        add_orders(conn, keys.id, [(ids[c], day, amount) for c, day, amount in transactions])
        # Someone who only browsed: no order, so no value scores.
        conn.execute(
            insert(events).values(
                workspace_id=keys.id,
                profile_id=ids[1],
                message_id="view-1",
                type="track",
                name="Product Viewed",
                source="test",
                timestamp=clock.now(),
                received_at=clock.now(),
                properties={},
            )
        )
    return keys, ids


def cli(database_url: str, data_dir: Path, *args: str):  # noqa: ANN201
    from siyu.cli import _register_capabilities, app

    _register_capabilities()
    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(data_dir)})


def assert_published_estimates(result: dict) -> None:
    """Fader, Hardie & Lee (2005): BG/NBD r=0.243, alpha=4.414, a=0.793, b=2.426 on the 2,357
    customers; Gamma-Gamma p=6.25, q=3.74, gamma=15.44 on the 946 with repeat purchases; both on the
    39-week calibration period ending 1997-09-30, in weeks (see test_clv_models.py)."""
    bg, gg = result["bgnbd"], result["gamma_gamma"]
    assert result["customers"] == cdnow.CUSTOMERS and result["repeat_customers"] == 946
    assert set(bg) == {"r", "alpha", "a", "b"} and set(gg) == {"p", "q", "v"}
    assert [round(bg[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert [round(gg["p"], 2), round(gg["q"], 2), round(gg["v"], 2)] == [6.25, 3.74, 15.44]
    holdout = result["holdout"]
    assert (holdout["start"], holdout["end"], holdout["actual"]) == ("1997-10-01", "1998-06-30", 1882)
    assert [g["frequency"] for g in holdout["by_frequency"]][-1] == "7+"


def test_the_cli_reproduces_the_published_cdnow_estimates(shop, database_url: str, tmp_path: Path) -> None:
    keys, _ = shop
    result = cli(
        database_url,
        tmp_path,
        "clv",
        "fit",
        "--workspace",
        keys.name,
        "--calibration-end",
        "1997-09-30",
        "--time-unit",
        "week",
        "--json",
    )
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout.strip().splitlines()[-1])
    assert_published_estimates(fitted)
    assert fitted["scored"] == cdnow.CUSTOMERS and fitted["observation_end"] == "1998-06-30"
    readable = cli(database_url, tmp_path, "clv", "fit", "-w", str(keys.id), "--calibration-end", "1997-09-30")
    assert readable.exit_code == 0, readable.output
    assert "r=0.2426" in readable.stdout and "7+" in readable.stdout


def test_the_api_reproduces_them_and_keeps_the_fit(client, shop) -> None:  # noqa: ANN001
    keys, _ = shop
    response = client.post("/api/clv/fit", json=CALIBRATED, headers=keys.bearer())
    assert response.status_code == 201, response.text
    fitted = response.json()
    assert_published_estimates(fitted)
    latest = client.get("/api/clv/fits/latest", headers=keys.bearer())
    assert latest.status_code == 200 and latest.json() == fitted


def test_scores_are_written_beside_the_other_jobs_columns(runtime: Runtime, client, shop) -> None:  # noqa: ANN001
    keys, ids = shop
    with write(runtime.engine) as conn:
        [no_orders] = add_profiles(conn, keys.id, 1)
        for profile_id in (ids[1], no_orders):
            other_jobs = {
                "rfm_segment": "champions",
                "koc_score": 0.7,
                "lifecycle_stage": "active",
                "clv": 999.0,
                "p_alive": 0.5,
                "updated_at": clock.now(),
            }
            conn.execute(
                upsert(conn, profile_scores)
                .values(workspace_id=keys.id, profile_id=profile_id, **other_jobs)
                .on_conflict_do_update(index_elements=["workspace_id", "profile_id"], set_=other_jobs)
            )
    response = client.post("/api/clv/fit", json={"time_unit": "week", "horizon_days": 364}, headers=keys.bearer())
    assert response.status_code == 201, response.text
    with read(runtime.engine) as conn:
        rows = {
            r.profile_id: r
            for r in conn.execute(select(profile_scores).where(profile_scores.c.workspace_id == keys.id))
        }
    assert sum(1 for r in rows.values() if r.clv is not None) == cdnow.CUSTOMERS
    first, stale = rows[ids[1]], rows[no_orders]
    assert (first.rfm_segment, first.koc_score, first.lifecycle_stage) == ("champions", 0.7, "active")
    assert (stale.rfm_segment, stale.koc_score) == ("champions", 0.7)
    assert stale.clv is None and stale.p_alive is None  # no orders any more: no value, other scores kept
    # Customer 1 of the sample, as the pure model values her over 52 weeks from 30 June 1998.
    alone = fit_orders(Orders.from_rows(cdnow.transactions()), ClvOptions(horizon_days=364))
    i = int(np.searchsorted(alone.values.customers, 1))
    assert 0 < first.p_alive <= 1 and first.churn_risk == pytest.approx(1 - first.p_alive)
    assert first.p_alive == pytest.approx(float(alone.values.p_alive[i]), rel=1e-6)
    assert first.expected_purchases == pytest.approx(float(alone.values.expected_purchases[i]), rel=1e-6)
    assert first.clv == pytest.approx(first.expected_purchases * first.expected_order_value) and first.clv >= 0
    read_back = client.get(f"/api/clv/scores/{ids[1]}", headers=keys.bearer())
    assert read_back.status_code == 200
    assert read_back.json()["clv"] == pytest.approx(first.clv)
    assert_envelope(client.get(f"/api/clv/scores/{no_orders}", headers=keys.bearer()), 404)


def test_another_workspace_can_neither_read_nor_fit_this_one(
    runtime: Runtime,
    client,
    shop,  # noqa: ANN001
    other_workspace: WorkspaceKeys,
) -> None:
    keys, ids = shop
    mine = client.post("/api/clv/fit", headers=keys.bearer())  # no body: the defaults
    assert mine.status_code == 201
    theirs = other_workspace.bearer()
    assert assert_envelope(client.get(f"/api/clv/scores/{ids[1]}", headers=theirs), 404)["code"] == "clv.not_found"
    assert_envelope(client.get("/api/clv/fits/latest", headers=theirs), 404)
    refused = client.post("/api/clv/fit", json={}, headers=theirs)  # fits its own, empty, workspace
    assert assert_envelope(refused, 422)["code"] == "clv.not_enough_data"
    assert client.get("/api/clv/fits/latest", headers=keys.bearer()).json()["fit_id"] == mine.json()["fit_id"]
    with write(runtime.engine) as conn:
        _, analyst = workspace_store.create_key(conn, keys.id, KeyKind.SECRET, role=Role.ANALYST)
    as_analyst = {"Authorization": f"Bearer {analyst}"}
    assert client.get(f"/api/clv/scores/{ids[1]}", headers=as_analyst).status_code == 200
    assert assert_envelope(client.post("/api/clv/fit", json={}, headers=as_analyst), 403)["code"] == "auth.forbidden"


def test_two_fits_at_once_both_finish_and_leave_one_complete_set(runtime: Runtime, shop) -> None:
    """The write transactions of concurrent fits serialise (SQLite's BEGIN IMMEDIATE; row locks
    taken in profile id order on PostgreSQL): neither deadlocks, and the scores are one fit's."""
    keys, _ = shop
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(
                lambda unit: run_fit(runtime.engine, keys.id, ClvOptions(time_unit=unit)), [TimeUnit.DAY, TimeUnit.WEEK]
            )
        )
    assert [r["scored"] for r in results] == [cdnow.CUSTOMERS, cdnow.CUSTOMERS]
    with read(runtime.engine) as conn:
        horizons = (
            conn.execute(
                select(profile_scores.c.expected_purchases).where(
                    profile_scores.c.workspace_id == keys.id, profile_scores.c.clv.is_not(None)
                )
            )
            .scalars()
            .all()
        )
    assert len(horizons) == cdnow.CUSTOMERS


def test_only_orders_of_live_profiles_count(runtime: Runtime, client, workspace: WorkspaceKeys) -> None:  # noqa: ANN001
    rng = np.random.default_rng(7)
    start = date(2024, 1, 1)
    history = []  # (customer index, day, amount)
    for customer in range(60):
        day = int(rng.integers(0, 60))
        while day < 360:
            history.append((customer, start + timedelta(days=day), float(rng.gamma(4, 25))))
            if rng.random() < 0.25:
                break
            day += int(rng.exponential(40)) + 1
    with write(runtime.engine) as conn:
        ids = add_profiles(conn, workspace.id, 60)
        add_orders(conn, workspace.id, [(ids[c], day, amount) for c, day, amount in history])
        # Customer 1 was merged into customer 0 (her events were not re-pointed); customer 2 was erased.
        conn.execute(
            update(profiles)
            .where(profiles.c.workspace_id == workspace.id, profiles.c.id == ids[1])
            .values(merged_into=ids[0])
        )
        conn.execute(
            update(profiles)
            .where(profiles.c.workspace_id == workspace.id, profiles.c.id == ids[2])
            .values(erased_at=clock.now())
        )
    response = client.post("/api/clv/fit", json={"time_unit": "day"}, headers=workspace.bearer())
    assert response.status_code == 201, response.text
    owner = {c: ids[0] if c == 1 else ids[c] for c in range(60)}
    expected = fit_orders(
        Orders.from_rows([(owner[c], day, amount) for c, day, amount in history if c != 2]),
        ClvOptions(time_unit=TimeUnit.DAY),
    )
    assert response.json()["scored"] == len(expected.values) == 58
    assert response.json()["bgnbd"]["r"] == pytest.approx(expected.bgnbd.r, rel=1e-6)
    with read(runtime.engine) as conn:
        scored = set(
            conn.execute(
                select(profile_scores.c.profile_id).where(
                    profile_scores.c.workspace_id == workspace.id, profile_scores.c.clv.is_not(None)
                )
            ).scalars()
        )
    assert ids[0] in scored and ids[1] not in scored and ids[2] not in scored


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"calibration_end": "1997-02-30"}, 400, "clv.invalid_date"),
        ({"calibration_end": "next week"}, 400, "clv.invalid_date"),
        ({"calibration_end": "2030-01-01"}, 400, "clv.invalid_date"),
        ({"time_unit": "month"}, 400, "clv.invalid_time_unit"),
        ({"horizon_days": 0}, 400, "request.invalid"),
        ({"discount_rate": -1}, 400, "request.invalid"),
    ],
)
def test_bad_options_are_a_4xx_envelope(client, shop, body: dict, status: int, code: str) -> None:  # noqa: ANN001
    keys, _ = shop
    assert assert_envelope(client.post("/api/clv/fit", json=body, headers=keys.bearer()), status)["code"] == code


def test_an_empty_workspace_is_not_enough_data(client, workspace: WorkspaceKeys) -> None:  # noqa: ANN001
    error = assert_envelope(client.post("/api/clv/fit", json=CALIBRATED, headers=workspace.bearer()), 422)
    assert error["code"] == "clv.not_enough_data" and "no orders" in error["message"]


def test_the_cli_refuses_bad_options_with_exit_2(
    shop, workspace: WorkspaceKeys, database_url: str, tmp_path: Path
) -> None:
    keys, _ = shop
    cases = [
        (keys.name, ["--calibration-end", "1997/09/30"], "YYYY-MM-DD"),
        (keys.name, ["--time-unit", "month"], "day' or 'week"),
        (keys.name, ["--calibration-end", "1998-06-30"], "holdout"),
        (workspace.name, ["--json"], "no orders"),
        ("no-such-workspace", [], "No workspace"),
    ]
    for name, args, message in cases:
        result = cli(database_url, tmp_path, "clv", "fit", "--workspace", name, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()) and "Traceback" not in result.output
