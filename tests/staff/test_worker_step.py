"""The worker does what the operator's `/sync` does, with nobody pressing it: a decided hand-over is
submitted to WeCom and its result polled by `run_pass`, and a daily SOP rule runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu import clock
from siyu.worker import run_pass
from tests.staff.platforms import platforms
from tests.staff.test_staff_e2e import _member


def test_the_worker_submits_and_polls_hand_overs(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        _member(client, workspace, "lisi", "李四")
        person = fake.customer(client, workspace, "zhangsan", "wmW1")
        decided = client.post("/api/customer-transfers", headers=workspace.bearer(), json={
            "kind": "in_service", "handover_userid": "zhangsan", "takeover_userid": "lisi",
            "profile_ids": [person], "idempotency_key": "worker-1"})
        assert decided.status_code == 201, decided.text
        run_pass(runtime)
        assert len(fake.wecom.transfer_bodies) == 1
        run_pass(runtime)  # waiting for WeCom's 24 hours: nothing is sent again
        assert len(fake.wecom.transfer_bodies) == 1
        clock.advance(timedelta(hours=24, minutes=1))
        run_pass(runtime)
        [transfer] = client.get("/api/customer-transfers", params={"profile_id": person},
                                headers=workspace.bearer()).json()
        assert transfer["status"] == "succeeded"
