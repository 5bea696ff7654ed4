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


def _clv(app: FastAPI) -> None:
    from siyu.analytics.clv_api import router

    app.include_router(router)


def _analytics(app: FastAPI) -> None:
    from siyu.analytics.mirror_api import router

    app.include_router(router)


def _segments(app: FastAPI) -> None:
    from siyu.segments.api import router
    from siyu.segments.rules_api import router as rules_router
    from siyu.segments.scores_api import router as scores_router

    app.include_router(router)
    app.include_router(scores_router)
    app.include_router(rules_router)


def _reports(app: FastAPI) -> None:
    from siyu.analytics.reports_api import router

    app.include_router(router)


def _messages(app: FastAPI) -> None:
    from siyu.messaging.api import router
    from siyu.messaging.broadcasts_api import router as broadcasts_router
    from siyu.messaging.receipts_api import router as receipts_router
    from siyu.messaging.tracking_api import router as tracking_router
    from siyu.messaging.unsubscribe_api import router as unsubscribe_router

    app.include_router(router)
    app.include_router(broadcasts_router)
    app.include_router(unsubscribe_router)
    app.include_router(tracking_router)
    app.include_router(receipts_router)


def _journeys(app: FastAPI) -> None:
    from siyu.journeys.api import router, tasks_router, templates_router

    app.include_router(router)
    app.include_router(templates_router)
    app.include_router(tasks_router)


def _callbacks(app: FastAPI) -> None:
    from siyu.acquisition.replies_api import router as replies_router
    from siyu.callbacks.api import router
    from siyu.callbacks.setup_api import router as channels_router

    app.include_router(router)
    app.include_router(channels_router)
    app.include_router(replies_router)


def _staff(app: FastAPI) -> None:
    from siyu.staff.api import people_router, router, sop_router, task_router, transfers_router

    for included in (router, transfers_router, sop_router, task_router, people_router):
        app.include_router(included)


def _channel_codes(app: FastAPI) -> None:
    from siyu.acquisition.channel_codes_api import router

    app.include_router(router)


def _groups(app: FastAPI) -> None:
    from siyu.acquisition.group_codes_api import public_router as group_code_page
    from siyu.acquisition.group_codes_api import router as group_codes_router
    from siyu.groups.api import profiles_router, router

    app.include_router(router)
    app.include_router(profiles_router)
    app.include_router(group_codes_router)
    app.include_router(group_code_page)
    from siyu.acquisition.posters_api import public_router as poster_pages
    from siyu.acquisition.posters_api import router as posters_router

    app.include_router(posters_router)
    app.include_router(poster_pages)


def _forms(app: FastAPI) -> None:
    from siyu.acquisition.forms_api import router
    from siyu.acquisition.forms_page import router as page_router

    app.include_router(router)
    app.include_router(page_router)


def _payments(app: FastAPI) -> None:
    from siyu.payments.api import profiles_router, router

    app.include_router(router)
    app.include_router(profiles_router)


def _surveys(app: FastAPI) -> None:
    from siyu.surveys.api import router
    from siyu.surveys.page import router as page_router

    app.include_router(router)
    app.include_router(page_router)


def _distribution(app: FastAPI) -> None:
    from siyu.growth.distribution_api import commissions_router, router
    from siyu.growth.distribution_page import public_router

    app.include_router(router)
    app.include_router(commissions_router)
    app.include_router(public_router)


def _campaigns(app: FastAPI) -> None:
    from siyu.growth.api import router
    from siyu.growth.landing import router as landing_router

    app.include_router(router)
    app.include_router(landing_router)


def _offers(app: FastAPI) -> None:
    from siyu.offers.api import claims_router, router

    app.include_router(router)
    app.include_router(claims_router)


def _reviews(app: FastAPI) -> None:
    from siyu.growth.fraud_api import router

    app.include_router(router)


def _loyalty(app: FastAPI) -> None:
    from siyu.loyalty.api import router

    app.include_router(router)
    from siyu.loyalty.tasks_api import router as tasks_router

    app.include_router(tasks_router)
    from siyu.loyalty.member_centre import router as member_centre_page

    app.include_router(member_centre_page)


def _console(app: FastAPI) -> None:
    from siyu.web.app import mount

    mount(app)


# The hot paths first: FastAPI tries routes in order, and the platforms' callbacks, ingest and the claims
# on a flash-sale coupon come thousands of times a second (bench/bench_offers.py: route matching was a
# third of a claim's time at the end of the list), while the console's hundreds of routes come at a
# person's pace.
ALL: list[Callable[[FastAPI], None]] = [_ingest, _callbacks, _offers, _workspaces, _profiles, _imports, _clv,
                                        _analytics, _segments, _reports, _messages, _journeys, _staff, _channel_codes,
                                        _groups, _forms, _payments, _distribution, _campaigns, _reviews, _loyalty,
                                        _surveys,
                                        _console]
