"""Mounting the console on the app: session cookies, static files, pages, error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from siyu.web import (
    acquisition_routes,
    broadcast_routes,
    campaign_routes,
    distribution_routes,
    errors,
    form_routes,
    group_routes,
    journey_routes,
    loyalty_routes,
    offer_routes,
    reply_routes,
    report_routes,
    review_routes,
    reward_routes,
    routes,
    segment_routes,
    session,
    spend_routes,
    staff_routes,
    survey_routes,
)

STATIC = Path(__file__).parent / "static"
SESSION_DAYS = 14


def mount(app: FastAPI) -> None:
    runtime = app.state.runtime
    # SameSite=Lax keeps the cookie off cross-site POSTs (a second line behind the CSRF token).
    app.add_middleware(SessionMiddleware, secret_key=runtime.session_secret(), session_cookie="siyu_session",
                       same_site="lax", max_age=SESSION_DAYS * 24 * 3600)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(session.router)
    app.include_router(routes.router)
    app.include_router(segment_routes.router)
    app.include_router(report_routes.router)
    app.include_router(spend_routes.router)
    app.include_router(broadcast_routes.router)
    app.include_router(journey_routes.router)
    app.include_router(acquisition_routes.router)
    app.include_router(form_routes.router)
    app.include_router(staff_routes.router)
    app.include_router(reply_routes.router)
    app.include_router(group_routes.router)
    app.include_router(reward_routes.router)
    app.include_router(offer_routes.router)
    app.include_router(review_routes.router)
    app.include_router(distribution_routes.router)
    app.include_router(campaign_routes.router)
    app.include_router(loyalty_routes.router)
    app.include_router(survey_routes.router)
    errors.install(app)
