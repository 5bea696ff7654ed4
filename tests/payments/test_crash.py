"""`kill -9` of a real `siyu rewards send-due` process while WeChat Pay has paid and not yet answered:
the row is left `sending`, and the next round, after the lease, asks WeChat before anything else —
one packet, never two."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from siyu import clock
from siyu.db.engine import read, write
from siyu.payments import rules, store
from siyu.payments.ledger import decide_reward, send_due
from siyu.payments.models import RewardStatus
from tests.payments.pay import merchant, person, workspace_row


def test_kill_9_mid_send_pays_once(runtime, client, workspace) -> None:  # noqa: ANN001
    with merchant(runtime, workspace) as pay:
        buyer = person(client, workspace, "oKilled", "killed")
        with write(runtime.engine) as conn:
            reward, _ = decide_reward(conn, workspace.id, key="kill-9", profile_id=buyer, amount_fen=188,
                                      reason="channel_code:1", wishing="谢谢", act_name="包裹卡", remark="crash",
                                      now=clock.now())
        released = pay.hold_next()  # WeChat pays, then sits on its answer
        env = {**os.environ, "SIYU_DATABASE_URL": runtime.config.database_url,
               "SIYU_DATA_DIR": str(runtime.config.data_dir)}
        worker = subprocess.Popen([sys.executable, "-m", "siyu", "rewards", "send-due", "-w", workspace.name],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not pay.paid and time.monotonic() < deadline:
                time.sleep(0.05)
            assert pay.paid, "the worker never reached WeChat Pay"
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            released.set()
            if worker.poll() is None:
                worker.kill()
        assert worker.returncode == -signal.SIGKILL
        ws = workspace_row(runtime, workspace)
        with read(runtime.engine) as conn:
            left = store.get_reward(conn, workspace.id, reward.id)
        assert left.status is RewardStatus.SENDING and left.bill_no
        assert send_due(runtime.engine, ws, now=clock.now()) == {}  # inside the lease: maybe still under way
        clock.freeze(clock.now() + rules.SENDING_LEASE + rules.RETRY_FIRST)
        assert send_due(runtime.engine, ws, now=clock.now()) == {"reclaimed": 1, "queried_sent": 1}
        assert len(pay.paid) == 1
        assert len([p for p, _ in pay.requests if p.endswith("sendredpack")]) == 1
