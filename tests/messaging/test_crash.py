"""kill -9 of a real `siyu worker` in the middle of a send: nothing is sent twice, nothing is lost.

The worker claims e-mails and webhooks and blocks handing the first one to a slow SMTP server; it is
killed there. Recovery is the same code a restarted worker runs, with the clock moved past the
lease: the one e-mail that was being handed over is marked uncertain (never re-sent: at most once),
every other message goes out exactly once, and the webhook receiver sees each delivery key once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from siyu import clock
from siyu.db.engine import make_engine, read, write
from siyu.db.migrate import upgrade
from siyu.db.tables import messages
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.messaging import delivery, outbox
from siyu.messaging.models import Channel, Purpose
from siyu.workspaces import store as workspace_store
from tests.messaging.fakes import SmtpSink, WebhookSink

pytestmark = pytest.mark.slow
SECRET = "whsec-crash"


def test_kill_9_mid_send_sends_nothing_twice_and_loses_nothing(own_database_url: str, tmp_path: Path) -> None:
    database_url = own_database_url  # the worker claims across workspaces: no other test's rows
    engine = make_engine(database_url)
    upgrade(engine)
    smtp = SmtpSink(hold=threading.Event())
    controller, port = smtp.start()
    hook = WebhookSink(SECRET)
    try:
        with write(engine) as conn:
            workspace = workspace_store.create_workspace(conn, f"crash{os.getpid()}-{uuid.uuid4().hex[:6]}")
            workspace_store.update_workspace_settings(conn, workspace.id, {"channels": {
                # one e-mail in flight at a time, so the kill leaves exactly one mid-send
                "email": {"host": "127.0.0.1", "port": port, "sender": "hi@brand.cn", "concurrency": 1},
                "webhook": {"url": hook.url, "secret": SECRET}}})
            people = [parse_message({"type": "identify", "userId": f"p{n}", "traits": {"email": f"p{n}@example.cn"}},
                                    received_at=clock.now()) for n in range(6)]
            result = ingest(conn, workspace.id, people, rules=DEFAULT_RULES)
            ids = [result.profile_ids[m.message_id] for m in people]
            for n, profile_id in enumerate(ids):  # e-mails first: the first hand-over blocks on SMTP
                outbox.queue(conn, workspace.id, profile_id=profile_id, channel=Channel.EMAIL,
                             purpose=Purpose.TRANSACTIONAL, content={"subject": f"#{n}", "text": "发货了"},
                             now=clock.now(), key=f"mail-{n}")
            for n, profile_id in enumerate(ids):
                outbox.queue(conn, workspace.id, profile_id=profile_id, channel=Channel.WEBHOOK,
                             purpose=Purpose.TRANSACTIONAL, content={"n": n}, now=clock.now(), key=f"hook-{n}")

        env = {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(tmp_path),
               "SIYU_LOG_LEVEL": "warning"}
        worker = subprocess.Popen([sys.executable, "-m", "siyu", "worker"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            assert smtp.arrived.wait(60), "the worker never started sending"
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(30)
        smtp.hold.set()  # the slow server finishes receiving the mail the dead worker was sending

        with read(engine) as conn:
            left = {r.idempotency_key: r.status for r in conn.execute(select(
                messages.c.idempotency_key, messages.c.status).where(messages.c.workspace_id == workspace.id))}
        # What the kill left behind: the one e-mail in flight (e-mail concurrency 1) mid-send, the
        # other e-mails claimed; webhooks go on other threads, so any of them may be anywhere — even
        # not yet claimed, when the kill came before the worker's pass reached the webhook channel.
        assert left["api:mail-0"] == "sending", left
        assert all(left[f"api:mail-{n}"] == "claimed" for n in range(1, 6)), left
        assert all(left[f"api:hook-{n}"] in ("queued", "claimed", "sending", "sent") for n in range(6)), left

        clock.advance(delivery.LEASE + timedelta(seconds=1))
        report = delivery.deliver_due(engine, workspace_id=workspace.id)
        hooks_left = sum(1 for n in range(6) if left[f"api:hook-{n}"] != "sent")
        assert (report.sent, report.uncertain) == (5 + hooks_left, 1)

        with read(engine) as conn:
            rows = conn.execute(select(messages.c.idempotency_key, messages.c.status, messages.c.reason).where(
                messages.c.workspace_id == workspace.id)).all()
        final = {key: (status, reason) for key, status, reason in rows}
        assert final["api:mail-0"] == ("uncertain", "delivery.interrupted")
        assert all(final[f"api:mail-{n}"] == ("sent", None) for n in range(1, 6))
        assert all(final[f"api:hook-{n}"] == ("sent", None) for n in range(6))
        received = Counter(str(mail["Subject"]) for mail in smtp.received)
        assert all(received[f"#{n}"] == 1 for n in range(1, 6))  # each e-mail once
        assert received["#0"] <= 1  # the interrupted one at most once (here the server dropped the dead session)
        # Webhooks are idempotent: one the worker was sending when killed is sent again with the same
        # delivery key, which the receiver dedupes on; every key carries one message.
        keys = {key: body["payload"]["n"] for key, body in hook.deliveries}
        assert sorted(keys.values()) == list(range(6))
        assert delivery.deliver_due(engine, workspace_id=workspace.id).sent == 0
    finally:
        controller.stop()
        hook.stop()
        engine.dispose()
