"""``/api/rewards``: the cash-reward ledger (what was decided, sent, failed or is uncertain, for whom
and why), the budgets, a reward decided by hand, and the send round the worker runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from siyu import clock
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.payments import store
from siyu.payments.ledger import decide_reward, send_due
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/rewards", tags=["rewards"])
profiles_router = APIRouter(prefix="/api/profiles", tags=["rewards"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MESSAGES_SEND))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Status = Literal["decided", "sending", "sent", "failed", "uncertain", "refused"]


class RewardIn(BaseModel):
    profile_id: int = Field(ge=1, le=2**63 - 1)
    amount_fen: int = Field(ge=1, le=499_900, description="1-200 yuan (100-20000 fen) without scene_id")
    reason: str = Field(min_length=1, max_length=100, description="What earned it, e.g. campaign:spring")
    wishing: str = Field(min_length=1, max_length=128)
    act_name: str = Field(min_length=1, max_length=32)
    remark: str = Field(min_length=1, max_length=256)
    scene_id: str | None = Field(None, description="PRODUCT_1 … PRODUCT_8, set up in the merchant platform")
    budget_fen: int | None = Field(None, ge=0, le=10**12, description="Sets the reason's total budget")
    idempotency_key: str = Field(min_length=1, max_length=200)


@router.get("", summary="Rewards, newest first")
def list_rewards(request: Request, caller: Reader, status: Status | None = None,
                 reason: Annotated[str | None, Query(max_length=100)] = None,
                 profile_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                 before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="ids below this")] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [r.to_dict() for r in store.list_rewards(conn, caller.workspace_id, status=status, reason=reason,
                                                        profile_id=profile_id, before_id=before, limit=limit)]


@router.get("/budgets", summary="Each reason's budget, what is committed and what is left")
def budgets(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return store.list_budgets(conn, caller.workspace_id)


@router.post("", status_code=201, summary="Decide a reward (sent by the worker); the same key again is idempotent")
def create_reward(request: Request, caller: Writer, body: RewardIn) -> dict[str, Any]:
    from siyu.profiles.read_store import resolve_profile_id

    with write(runtime_of(request).engine) as conn:
        profile_id = resolve_profile_id(conn, caller.workspace_id, body.profile_id)  # 404 for a stranger
        reward, _ = decide_reward(conn, caller.workspace_id, key=body.idempotency_key, profile_id=profile_id,
                                  amount_fen=body.amount_fen, reason=body.reason, wishing=body.wishing,
                                  act_name=body.act_name, remark=body.remark, scene_id=body.scene_id,
                                  budget_fen=body.budget_fen, now=clock.now())
    return reward.to_dict()


@router.post("/send-due", summary="Send due rewards and query uncertain ones now (the worker step)")
def send_due_now(request: Request, caller: Writer) -> dict[str, int]:
    engine = runtime_of(request).engine
    with read(engine) as conn:
        workspace = workspace_store.get_workspace(conn, caller.workspace_id)
    return send_due(engine, workspace, now=clock.now())


@router.get("/{reward_id}", summary="One reward")
def get_reward(request: Request, caller: Reader, reward_id: Id) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        return store.get_reward(conn, caller.workspace_id, reward_id).to_dict()


@profiles_router.get("/{profile_id}/rewards", summary="A person's rewards, newest first")
def profile_rewards(request: Request, caller: Reader, profile_id: Id) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [r.to_dict() for r in store.list_rewards(conn, caller.workspace_id, profile_id=profile_id, limit=500)]
