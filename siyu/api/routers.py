"""The list of capability routers mounted on the app. Each entry is ``include(app) -> None``."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI


def _workspaces(app: FastAPI) -> None:
    from siyu.workspaces.api import router

    app.include_router(router)


def _ingest(app: FastAPI) -> None:
    from siyu.ingest.api import router

    app.include_router(router)


def _profiles(app: FastAPI) -> None:
    from siyu.profiles.api import router
    from siyu.profiles.tags_api import router as tags_router

    app.include_router(router)
    app.include_router(tags_router)


def _imports(app: FastAPI) -> None:
    from siyu.imports.api import router

    app.include_router(router)


def _console(app: FastAPI) -> None:
    from pathlib import Path

    from fastapi.staticfiles import StaticFiles
    from starlette.middleware.sessions import SessionMiddleware

    from siyu.web.routes import router

    runtime = app.state.runtime
    app.add_middleware(SessionMiddleware, secret_key=runtime.session_secret(), session_cookie="siyu_session",
                       same_site="lax", max_age=14 * 24 * 3600)
    app.mount("/static", StaticFiles(directory=Path(__file__).parents[1] / "web" / "static"), name="static")
    app.include_router(router)


ALL: list[Callable[[FastAPI], None]] = [_workspaces, _ingest, _profiles, _imports, _console]
