"""``/api/growth/reviews``: the operators' review queue of anti-fraud decisions — list, look, approve,
reject. Approving or rejecting is idempotent: the same answer again changes nothing and runs no
effect twice; the opposite answer to a resolved decision is a 409 (``growth.review_conflict``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.growth import fraud_store
from siyu.growth.fraud_store import ReviewAction, ReviewStatus
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/growth/reviews", tags=["growth"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Reviewer = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
StatusFilter = Literal["pending", "approved", "rejected", "none", "all"]


class ResolveIn(BaseModel):
    note: str | None = Field(None, max_length=2000, description="Why (shown in the queue's history)")


@router.get("", summary="Anti-fraud decisions, newest first (default: those waiting for review)")
def list_reviews(request: Request, caller: Reader, status: StatusFilter = "pending",
                 campaign_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                 verdict: Literal["allow", "review", "deny"] | None = None,
                 before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="ids below this")] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    wanted = None if status == "all" else ReviewStatus(status)
    with read(runtime_of(request).engine) as conn:
        return [d.to_dict() for d in fraud_store.review_queue(conn, caller.workspace_id, status=wanted,
                                                              campaign_id=campaign_id, verdict=verdict,
                                                              before_id=before, limit=limit)]


@router.get("/summary", summary="One campaign's decisions by verdict, review outcome and reason")
def summary(request: Request, caller: Reader,
            campaign_id: Annotated[int, Query(ge=1, le=2**63 - 1)]) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return fraud_store.decision_summary(conn, caller.workspace_id, campaign_id=campaign_id)


@router.get("/{decision_id}", summary="One decision with its reasons and the facts it was made on")
def get_review(request: Request, caller: Reader, decision_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return fraud_store.get_decision(conn, caller.workspace_id, decision_id).to_dict()


def _resolve(request: Request, caller: Principal, decision_id: int, action: ReviewAction,
             body: ResolveIn | None) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        decision, changed = fraud_store.resolve_review(conn, caller.workspace_id, decision_id, verdict=action,
                                                       operator=caller.actor, note=body.note if body else None,
                                                       now=clock.now())
    return {**decision.to_dict(), "changed": changed}


@router.post("/{decision_id}/approve", summary="Approve: the held credit or reward goes ahead (idempotent)")
def approve(request: Request, caller: Reviewer, decision_id: Id, body: ResolveIn | None = None) -> dict[str, Any]:
    return _resolve(request, caller, decision_id, ReviewAction.APPROVE, body)


@router.post("/{decision_id}/reject", summary="Reject: the held credit or reward is refused (idempotent)")
def reject(request: Request, caller: Reviewer, decision_id: Id, body: ResolveIn | None = None) -> dict[str, Any]:
    return _resolve(request, caller, decision_id, ReviewAction.REJECT, body)
