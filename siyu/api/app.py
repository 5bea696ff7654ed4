"""Build the ASGI application. Each capability contributes one router; this module only wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from siyu import __version__
from siyu.api import errors
from siyu.api.auth import runtime_of
from siyu.api.nul import RejectNulCharacters
from siyu.callbacks.fast_path import CallbackFastPath
from siyu.ingest.fast_path import IngestFastPath
from siyu.offers.fast_path import ClaimFastPath
from siyu.runtime import Runtime


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime.from_config()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        from siyu.callbacks.writer import stop_writer as stop_callback_writer
        from siyu.db.counters import stop_all as stop_counters
        from siyu.ingest.writer import stop_writer
        from siyu.offers.writer import stop_writer as stop_claim_writer

        stop_writer(runtime)
        stop_callback_writer(runtime)
        stop_claim_writer(runtime)
        stop_counters(runtime)

    app = FastAPI(
        lifespan=lifespan,
        title="siyu",
        version=__version__,
        description="私域 private-domain customer operations: Segment-compatible ingest and the management API.",
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    errors.install(app)
    app.add_middleware(RejectNulCharacters)

    @app.get("/api/health", tags=["system"], summary="200 when the server can reach its database")
    def health(request: Request) -> JSONResponse:
        try:
            with runtime_of(request).engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - reported as the health status, not swallowed
            return errors.envelope(503, "health.database_unreachable", f"Database unreachable: {error}")
        return JSONResponse({"status": "ok", "version": __version__})

    for include in _routers():
        include(app)
    app.add_middleware(IngestFastPath, runtime=runtime)  # see siyu.ingest.fast_path
    app.add_middleware(ClaimFastPath, runtime=runtime)  # see siyu.offers.fast_path
    app.add_middleware(CallbackFastPath, runtime=runtime)  # outermost: see siyu.callbacks.fast_path
    return app


def _routers() -> list:
    """Capability routers, imported here so a capability never imports the app."""
    from siyu.api import routers

    return routers.ALL
