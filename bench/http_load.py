"""A lean HTTP/1.1 load generator: prepared requests over keep-alive connections, from one asyncio loop.

The load generator shares the machine's two cores with the server it measures, so what it spends is
taken from the server: httpx in threads costs several hundred microseconds of CPU per request, this
about fifty. Requests are prepared in full before the clock starts (signed, encrypted, framed), each
connection sends one and waits for its answer before the next (the platforms' servers do not
pipeline either), and every answer is kept for checking afterwards.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode


def post_request(host: str, path: str, query: dict[str, str], body: bytes, content_type: str = "text/xml") -> bytes:
    """One POST, framed as bytes on the wire."""
    target = f"{path}?{urlencode(query)}" if query else path
    head = (f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, in completion order
    answers: list[tuple[int, int, bytes]] = field(default_factory=list)  # (request index, status, body)
    seconds: float = 0.0


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length) if length else b""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status, bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def _run(host: str, port: int, requests: list[bytes], connections: int, seconds: float) -> Outcome:
    outcome = Outcome()
    cursor = iter(range(len(requests)))
    deadline = time.monotonic() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index in cursor:
                if time.monotonic() >= deadline:
                    return
                started = time.perf_counter()
                writer.write(requests[index])
                status, body = await _read_answer(reader)
                outcome.latencies.append(time.perf_counter() - started)
                outcome.answers.append((index, status, body))
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(connections)))
    outcome.seconds = time.monotonic() - started
    return outcome


def run_load(host: str, port: int, requests: list[bytes], *, connections: int, seconds: float) -> Outcome:
    """Send ``requests`` in order over ``connections`` keep-alive connections until all are answered or
    ``seconds`` have passed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(_run(host, port, requests, connections, seconds))
    return uvloop.run(_run(host, port, requests, connections, seconds))


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[max(0, int(len(sorted_values) * fraction) - 1)]
