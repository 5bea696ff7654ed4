"""An application with one capability's routes and nothing in front of them: what a fast path's answers
are compared with (tests/offers/test_fast_path.py, tests/callbacks/test_fast_path.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from siyu.api import errors
from siyu.runtime import Runtime


@contextmanager
def routes_only(runtime: Runtime, router: APIRouter, stop_writer: Callable[[Runtime], None],
                *middleware: Any) -> Iterator[TestClient]:
    """A client of ``router`` alone (with the app's error handlers and ``middleware``); the capability's
    writer thread is stopped afterwards, as the full app's shutdown would."""
    app = FastAPI()
    app.state.runtime = runtime
    errors.install(app)
    app.include_router(router)
    for each in middleware:
        app.add_middleware(each)
    try:
        with TestClient(app) as plain:
            yield plain
    finally:
        stop_writer(runtime)
