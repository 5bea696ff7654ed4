"""Console page for cash rewards (红包): the ledger — each reward's state, amount, person and reason,
filtered by state, reason and person, newest first — with the figures per state and each reason's
budget (what it may spend, what is committed, what is left).

Read-only: rewards are decided by what earns them (a channel code's arrival, the API) and sent by
the worker (:mod:`siyu.payments.ledger`); the page shows what happened and why (a refusal's or a
failure's code and detail, a packet waiting for the person's openid).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from siyu.acquisition import channel_codes_store
from siyu.api.auth import runtime_of
from siyu.db.engine import read
from siyu.payments import store
from siyu.payments.models import RewardStatus
from siyu.profiles import store as profile_store
from siyu.web.errors import ConsoleRoute
from siyu.web.routes import _page
from siyu.web.session import current, login_redirect

router = APIRouter(include_in_schema=False, route_class=ConsoleRoute)
PAGE_SIZE = 50
CODE_REASON = "channel_code:"


def _number(text: str, limit: int) -> int | None:
    """A filter's id from a form field; anything else means "no filter", not an error (an emptied box)."""
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) < limit else None


def reason_labels(conn: Any, workspace_id: int, reasons: set[str]) -> dict[str, dict[str, Any]]:
    """A reason's name and page where siyu knows it: ``channel_code:<id>`` is that code."""
    labels: dict[str, dict[str, Any]] = {}
    codes = {c["id"]: c for c in channel_codes_store.list_codes(conn, workspace_id)} if any(
        r.startswith(CODE_REASON) for r in reasons) else {}
    for reason in reasons:
        code_id = _number(reason.removeprefix(CODE_REASON), 2**31) if reason.startswith(CODE_REASON) else None
        code = codes.get(code_id) if code_id else None
        labels[reason] = {"name": code["name"], "href": f"/codes/{code['id']}"} if code else {"name": reason,
                                                                                               "href": None}
    return labels


@router.get("/rewards", response_class=HTMLResponse)
def rewards_page(request: Request, status: Annotated[str, Query(max_length=16)] = "",
                 reason: Annotated[str, Query(max_length=100)] = "",
                 profile: Annotated[str, Query(max_length=20)] = "",
                 before: Annotated[str, Query(max_length=20)] = "") -> Response:
    console = current(request)
    if console is None:
        return login_redirect(request)
    workspace_id = console.workspace.id
    state = status if status in {s.value for s in RewardStatus} else None
    person, older_than = _number(profile, 2**62), _number(before, 2**62)
    with read(runtime_of(request).engine) as conn:
        listed = store.list_rewards(conn, workspace_id, status=state, reason=reason.strip() or None,
                                    profile_id=person, before_id=older_than, limit=PAGE_SIZE + 1)
        budgets = store.list_budgets(conn, workspace_id)
        totals = store.totals_by_status(conn, workspace_id)
        shown = listed[:PAGE_SIZE]
        traits = profile_store.load_traits(conn, workspace_id, [r.profile_id for r in shown])
        reasons = store.list_reasons(conn, workspace_id)
        labels = reason_labels(conn, workspace_id, set(reasons) | {b["reason"] for b in budgets})
    names = {pid: found[0].get("name") for pid, found in traits.items()}
    more = len(listed) > PAGE_SIZE
    filters = {"status": state or "", "reason": reason.strip(), "profile": str(person or "")}
    return _page(request, "rewards.html", console, rewards=shown, budgets=budgets, totals=totals, names=names,
                 labels=labels, filters=filters, statuses=[s.value for s in RewardStatus],
                 older=shown[-1].id if more and shown else None)
