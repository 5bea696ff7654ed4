"""``siyu sandbox``: every channel's provider as a local fake on loopback, and a workspace pointed at
them, so that messages can be sent end to end on one machine and watched as they arrive.

The fakes are the ones the tests use (``siyu.channels.fakes``): they speak the real protocols —
WeChat's and WeCom's tokens and send APIs, Aliyun's signed SendSms — so siyu's own adapters run
unchanged; only the base URLs differ. In the sandbox they are lenient where real platforms hold
state siyu can't create locally: every WeCom customer is a contact of every member, every WeChat
subscription notice finds a subscription, any SMS signature and template is approved. E-mail goes to
an aiosmtpd SMTP server (installed with ``pip install -e '.[test]'``), webhooks to a receiver that
checks siyu's signature like an integrator's endpoint would.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.policy import default as email_policy
from typing import Any

from siyu.channels.fakes import FakeAliyunSms, FakeWeChat, FakeWeCom
from siyu.channels.fakes.server import LoopbackServer, Request
from siyu.channels.webhook import verify

WECHAT_APPID, WECHAT_SECRET = "wxsandbox0000001", "sandbox-wechat-secret"
WECOM_CORPID, WECOM_SECRET, WECOM_SENDER = "wwsandbox0000001", "sandbox-wecom-secret", "sandbox-staff"
SMS_KEY_ID, SMS_KEY_SECRET = "LTAIsandbox", "sandbox-sms-secret"
WEBHOOK_SECRET = "sandbox-webhook-secret"
EMAIL_SENDER = "sandbox@siyu.local"
WECHAT_CHANNELS = {"template": "wechat_template", "cs": "wechat_cs", "subscribe": "wechat_subscribe"}


@dataclass(frozen=True)
class Arrival:
    """One message as a provider saw it: accepted, or refused with the provider's code."""

    channel: str
    to: str
    summary: str
    accepted: bool = True

    def line(self) -> str:
        mark = "→" if self.accepted else "✗"
        return f"{datetime.now():%H:%M:%S}  {self.channel:<9} {mark} {self.to}  {self.summary}"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookReceiver(LoopbackServer):
    """An integrator's endpoint: checks ``X-Siyu-Signature`` and records what it accepts."""

    def __init__(self, secret: str, host: str = "127.0.0.1") -> None:
        self.secret = secret
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.refused = 0
        super().__init__(host, 0)

    def handle(self, request: Request) -> tuple[int, Any]:
        with self.lock:
            if request.method != "POST" or not verify(self.secret, request.headers.get("x-siyu-signature", ""),
                                                      request.body):
                self.refused += 1
                return 401, {"error": "bad signature"}
            try:
                body = request.json()
            except ValueError:
                return 400, {"error": "not JSON"}
            self.received.append((request.headers.get("x-siyu-delivery", ""), body))
            return 200, {"ok": True}


class _SmtpSink:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's API
        with self.lock:
            self.received.append(message_from_bytes(envelope.content, policy=email_policy))
        return "250 OK"


class Sandbox:
    """The fakes, started on ``host``; :meth:`settings` points a workspace at them, :meth:`poll`
    returns what arrived since the last call. A ``with`` block stops them."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        if not is_loopback(host):
            raise ValueError("the sandbox listens on loopback only (127.0.0.1, ::1 or localhost)")
        self.host = host
        self.wechat = FakeWeChat({WECHAT_APPID: WECHAT_SECRET}, enforce_subscriptions=False, host=host)
        self.wecom = FakeWeCom({WECOM_CORPID: WECOM_SECRET}, check_contacts=False, host=host)
        self.sms = FakeAliyunSms({SMS_KEY_ID: SMS_KEY_SECRET}, host=host)
        self.webhook = WebhookReceiver(WEBHOOK_SECRET, host=host)
        self.smtp_sink, self.smtp_port, self._smtp = _SmtpSink(), 0, None
        self.smtp_problem: str | None = None
        try:
            from aiosmtpd.controller import Controller

            self.smtp_port = _free_port(host)  # aiosmtpd connects to its own port to start: 0 won't do
            self._smtp = Controller(self.smtp_sink, hostname=host, port=self.smtp_port)
            self._smtp.start()
        except ImportError:
            self.smtp_problem = "e-mail is off: the SMTP sink needs aiosmtpd (pip install aiosmtpd)"
        self._seen: dict[str, int] = {}

    def settings(self) -> dict[str, Any]:
        """``settings.channels`` for a workspace that sends to the sandbox."""
        channels: dict[str, Any] = {
            "wechat": {"appid": WECHAT_APPID, "secret": WECHAT_SECRET, "base_url": self.wechat.url},
            "wecom": {"corpid": WECOM_CORPID, "secret": WECOM_SECRET, "base_url": self.wecom.url,
                      "sender": WECOM_SENDER},
            "sms": {"provider": "aliyun", "access_key_id": SMS_KEY_ID, "access_key_secret": SMS_KEY_SECRET,
                    "endpoint": self.sms.url},
            "webhook": {"url": f"{self.webhook.url}/hook", "secret": WEBHOOK_SECRET},
        }
        if self._smtp is not None:
            channels["email"] = {"host": self.host, "port": self.smtp_port, "sender": EMAIL_SENDER,
                                 "sender_name": "siyu sandbox"}
        return channels

    def _new(self, name: str, items: list[Any]) -> list[Any]:
        start = self._seen.get(name, 0)
        self._seen[name] = len(items)
        return items[start:]

    def poll(self) -> list[Arrival]:
        arrivals = [Arrival(WECHAT_CHANNELS[r.kind], f"{r.appid}:{r.openid}", _wechat_summary(r.body))
                    for r in self._new("wechat", list(self.wechat.received))]
        arrivals += [Arrival("wechat", openid, f"refused: errcode {code}", False)
                     for openid, code in self._new("wechat-refused", list(self.wechat.refused))]
        arrivals += [Arrival("wecom", f"{', '.join(task.external_userids)} (from {task.sender})",
                             _wecom_summary(task.body)) for task in self._new("wecom", list(self.wecom.received))]
        arrivals += [Arrival("wecom", external, f"in fail_list: {why}", False)
                     for external, why in self._new("wecom-failed", list(self.wecom.failed))]
        arrivals += [Arrival("sms", sms.phone_numbers, f"【{sms.sign_name}】{sms.template_code} "
                             f"{json.dumps(sms.params, ensure_ascii=False)}")
                     for sms in self._new("sms", list(self.sms.received))]
        arrivals += [Arrival("sms", "?", f"refused: {code}", False) for code in self._new("sms-refused",
                                                                                       list(self.sms.refused))]
        with self.smtp_sink.lock:
            mails = list(self.smtp_sink.received)
        arrivals += [Arrival("email", str(mail["To"]), f"subject: {mail['Subject']}")
                     for mail in self._new("email", mails)]
        arrivals += [Arrival("webhook", f"profile {body.get('profile_id')}", f"delivery {key}: "
                             f"{json.dumps(body.get('payload'), ensure_ascii=False)[:80]}")
                     for key, body in self._new("webhook", list(self.webhook.received))]
        return arrivals

    def stop(self) -> None:
        for server in (self.wechat, self.wecom, self.sms, self.webhook):
            server.stop()
        if self._smtp is not None:
            self._smtp.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wechat_summary(body: dict[str, Any]) -> str:
    if "msgtype" in body:
        block = body.get(body["msgtype"]) or {}
        return f"{body['msgtype']}: {block.get('content') or block.get('title') or ''}"[:100]
    values = " / ".join(str(item.get("value", "")) for item in (body.get("data") or {}).values()
                        if isinstance(item, dict))
    return f"{body.get('template_id')}: {values}"[:100]


def _wecom_summary(body: dict[str, Any]) -> str:
    text = (body.get("text") or {}).get("content", "")
    attachments = [item.get("msgtype") for item in body.get("attachments") or []]
    return (text + (f" [+{', '.join(attachments)}]" if attachments else ""))[:100]


def apply_to_workspace(engine: Any, workspace: str, channels: dict[str, Any]) -> tuple[int, str]:
    """Replace the workspace's channel settings with ``channels`` (other settings are kept)."""
    from siyu.db.engine import write
    from siyu.workspaces import store

    with write(engine) as conn:
        found = store.get_workspace(conn, workspace)
        locked = store.workspace_for_update(conn, found.id)
        settings = dict(locked.settings or {})
        settings["channels"] = {**(settings.get("channels") or {}), **channels}
        store.update_workspace_settings(conn, found.id, settings)
    return found.id, found.name
