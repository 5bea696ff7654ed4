"""Local servers that speak the real protocols: SMTP (aiosmtpd) and a webhook receiver that checks
siyu's signature the way an integrator's endpoint would."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as Email
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from siyu.channels.webhook import verify
from tests.conftest import free_port


@dataclass
class SmtpSink:
    """A real SMTP server on loopback; ``hold`` makes it wait before accepting DATA (a slow provider)."""

    received: list[Email] = field(default_factory=list)
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's API
        self.arrived.set()
        if self.hold is not None:
            import asyncio

            while not self.hold.is_set():
                await asyncio.sleep(0.05)
        self.received.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def start(self) -> tuple[Controller, int]:
        port = free_port()
        controller = Controller(self, hostname="127.0.0.1", port=port)
        controller.start()
        return controller, port


class WebhookSink:
    """Records signed deliveries; answers with ``statuses`` in turn (then 200)."""

    def __init__(self, secret: str, statuses: list[int] | None = None) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.deliveries: list[tuple[str, dict[str, Any]]] = []
        self.bad_signatures = 0
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sink.arrived.set()
                if sink.hold is not None:
                    sink.hold.wait(60)
                if not verify(sink.secret, self.headers.get("X-Siyu-Signature", ""), body):
                    sink.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                status = sink.statuses.pop(0) if sink.statuses else 200
                if status == 200:
                    sink.deliveries.append((self.headers["X-Siyu-Delivery"], json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
