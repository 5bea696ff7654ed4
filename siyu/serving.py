"""Serving the API and console, with the background worker beside it in its own process.

``siyu serve`` and ``siyu demo`` start ``siyu worker`` as a child process, so that one command
gives real-time segments, the scheduled refresh, daily scores and a fresh analytics mirror. A
process, not a thread: the worker's work (Parquet writes, segment SQL) would otherwise compete
with ingest for the server's one interpreter lock, and it gets the machine's other core instead
(measured: the mirror sync thread took 10-13% of the server's samples under ingest load, and
DuckDB/pyarrow added ~200 MB to the server's memory). The child dies with its parent: Linux is
asked to send it SIGTERM (``PR_SET_PDEATHSIG``), and it also watches its parent's pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from siyu.runtime import Runtime

log = logging.getLogger("siyu")
PARENT_ENV = "SIYU_PARENT_PID"


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError):  # elsewhere the worker's parent watch covers it
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn_worker() -> subprocess.Popen[bytes]:
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    return subprocess.Popen([sys.executable, "-m", "siyu", "worker"], env=env, stdout=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)


def stop_worker(child: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def watch_for_stop(stop: threading.Event, every: float = 0.2) -> None:
    """Set ``stop`` on SIGTERM, or, in a worker started by :func:`spawn_worker`, when the parent is gone.

    The SIGTERM handler only appends to a list; a thread turns that into ``stop.set()``. A handler that
    set the event itself could deadlock the worker: Python runs a handler between two bytecodes of the
    main thread, and a second SIGTERM (the parent-death signal and a supervisor's, say) arriving while
    the first handler is inside ``Event.set`` waits for that event's lock, which the same thread holds —
    seen in a full test run, a worker left spinning after its server was killed."""
    asked: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: asked.append(signum))
    parent = os.environ.get(PARENT_ENV)

    def watch() -> None:
        while not stop.wait(every):
            if asked:
                stop.set()
            elif parent and os.getppid() != int(parent):
                log.info("siyu worker: the server (pid %s) is gone; stopping", parent)
                stop.set()

    threading.Thread(target=watch, name="siyu-stop-watch", daemon=True).start()


def serve(rt: Runtime, host: str, port: int, *, worker: bool = True, processes: int = 1) -> None:
    """Serve on ``host:port``; with ``processes`` above 1, that many server processes share the port
    (uvicorn's supervisor starts them, each building its app with :func:`served_app`), and one
    ``siyu worker`` serves them all."""
    import uvicorn

    from siyu.api.app import create_app

    child = spawn_worker() if worker else None
    try:
        if processes > 1:
            rt.engine.dispose()  # the processes open their own connections
            uvicorn.run("siyu.serving:served_app", factory=True, workers=processes, host=host, port=port,
                        log_level=rt.config.log_level, access_log=False)
        else:
            uvicorn.run(create_app(rt), host=host, port=port, log_level=rt.config.log_level, access_log=False)
    finally:
        if child is not None:
            stop_worker(child)


def served_app() -> Any:
    """The app of one of several server processes (the database is migrated by the parent)."""
    from siyu.api.app import create_app

    return create_app(Runtime.from_config())
