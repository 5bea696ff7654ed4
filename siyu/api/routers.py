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
    from siyu.identity.api import router as identity_router
    from siyu.profiles.api import router
    from siyu.profiles.tags_api import router as tags_router

    app.include_router(router)
    app.include_router(tags_router)
    app.include_router(identity_router)


def _imports(app: FastAPI) -> None:
    from siyu.imports.api import router

    app.include_router(router)


def _console(app: FastAPI) -> None:
    from siyu.web.app import mount

    mount(app)


ALL: list[Callable[[FastAPI], None]] = [_workspaces, _ingest, _profiles, _imports, _console]
