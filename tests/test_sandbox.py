"""``siyu sandbox`` as an operator runs it: a real process that starts the fake providers, points a
workspace at them (``--apply``), and prints each message as it arrives; messages queued and
delivered by the real CLI show up in its output, one line per channel."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from siyu import clock
from siyu.db.engine import make_engine, read, write
from siyu.db.migrate import upgrade
from siyu.identity.rules import DEFAULT_RULES
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.messaging import outbox
from siyu.messaging.models import Channel, Purpose
from siyu.sandbox import WECHAT_APPID, WECOM_CORPID, Sandbox
from siyu.workspaces import store as workspace_store

pytestmark = pytest.mark.slow
DEADLINE = 90  # seconds for the whole exchange; every wait polls against it


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], seen: list[str], done: Any, deadline: float) -> None:
    while not done():
        remaining = deadline - time.monotonic()
        assert remaining > 0, "\n".join(seen)
        try:
            seen.append(lines.get(timeout=min(remaining, 1)))
        except queue.Empty:
            continue


def _people(conn: Any, workspace_id: int) -> dict[str, int]:
    found = {
        "sms": {"userId": "lina", "traits": {"phone": "+8613912345678"}},
        "email": {"userId": "wei", "traits": {"email": "wei@example.cn"}},
        "wecom": {"userId": "fang", "context": {"externalIds": [
            {"type": f"wecom_external_userid:{WECOM_CORPID}", "id": "wmFang"}]}},
        "wechat": {"userId": "jun", "context": {"externalIds": [
            {"type": f"wechat_openid:{WECHAT_APPID}", "id": "oJun"}]}},
    }
    parsed = {name: parse_message({"type": "identify", **body}, received_at=clock.now())
              for name, body in found.items()}
    result = ingest(conn, workspace_id, list(parsed.values()), rules=DEFAULT_RULES)
    return {name: result.profile_ids[message.message_id] for name, message in parsed.items()}


def test_messages_sent_through_the_cli_arrive_in_the_sandbox(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    name = f"sandbox{os.getpid()}{time.monotonic_ns() % 100000}"
    with write(engine) as conn:
        workspace = workspace_store.create_workspace(conn, name)
        people = _people(conn, workspace.id)
    env = {**os.environ, "SIYU_DATABASE_URL": database_url, "SIYU_DATA_DIR": str(tmp_path),
           "SIYU_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1"}
    deadline = time.monotonic() + DEADLINE
    sandbox = subprocess.Popen([sys.executable, "-m", "siyu", "sandbox", "--workspace", name, "--apply"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines, seen = _lines(sandbox), []
        _wait_for(lines, seen, lambda: any("sandbox running" in line for line in seen), deadline)
        printed = json.loads(next(line for line in seen if line.startswith('{"channels"')))
        with read(engine) as conn:
            channels = workspace_store.get_workspace(conn, workspace.id).settings["channels"]
        assert channels == printed["channels"]
        assert set(channels) == {"wechat", "wecom", "sms", "email", "webhook"}
        assert all("127.0.0.1" in str(config.get("base_url") or config.get("endpoint") or config.get("url")
                                      or config.get("host")) for config in channels.values())

        def cli(*args: str) -> str:
            done = subprocess.run([sys.executable, "-m", "siyu", *args], env=env, capture_output=True, text=True,
                                  timeout=max(deadline - time.monotonic(), 1))
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        sends = {
            "sms": {"sign_name": "悦妆", "template_code": "SMS_465", "params": {"order": "2451"}},
            "wecom": {"text": {"content": "方女士您好，您的专属顾问在企业微信等您。"}},
            "wechat_template": {"template_id": "tplShipped", "data": {"thing2": {"value": "口红已发货"}}},
        }
        for channel, content in sends.items():
            profile = people["wechat" if channel.startswith("wechat") else channel]
            cli("messages", "send", "--workspace", name, "--profile", str(profile), "--channel", channel,
                "--purpose", "transactional", "--content", json.dumps(content, ensure_ascii=False))
        with write(engine) as conn:  # and two through the library, as journeys and the API queue them
            for channel, profile, content in [
                    (Channel.EMAIL, people["email"], {"subject": "订单已发货", "text": "口红已发货"}),
                    (Channel.WEBHOOK, people["sms"], {"order": "2451"})]:
                outbox.queue(conn, workspace.id, profile_id=profile, channel=channel, purpose=Purpose.TRANSACTIONAL,
                             content=content, now=clock.now())
        delivered = cli("messages", "deliver", "--workspace", name)
        assert "sent 5," in delivered, delivered

        expected = {"sms": "13912345678", "wecom": "wmFang (from sandbox-staff)", "wechat_template": "oJun",
                    "email": "wei@example.cn", "webhook": f"profile {people['sms']}"}

        def arrived() -> bool:
            return all(any(f" {channel} " in line and to in line for line in seen)
                       for channel, to in expected.items())

        _wait_for(lines, seen, arrived, deadline)
        assert not any("✗" in line for line in seen), "\n".join(seen)
    finally:
        sandbox.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            code = sandbox.wait(20)
        except subprocess.TimeoutExpired:
            sandbox.kill()
            raise
        engine.dispose()
    assert code == 0


def test_the_sandbox_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError):
        Sandbox("0.0.0.0")  # noqa: S104 - the refusal is what is tested
    done = subprocess.run([sys.executable, "-m", "siyu", "sandbox", "--host", "192.0.2.1"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "loopback" in done.stderr
    done = subprocess.run([sys.executable, "-m", "siyu", "sandbox", "--apply"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "--workspace" in done.stderr
