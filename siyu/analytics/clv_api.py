"""Management API for customer value: run a fit, read the latest one, read a profile's scores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from siyu.analytics import clv_store
from siyu.analytics.clv import ClvOptions
from siyu.analytics.clv_errors import ClvNotFound
from siyu.analytics.clv_job import describe_fit, run_fit
from siyu.analytics.clv_summary import parse_day, parse_time_unit
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/clv", tags=["customer value"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
# A fit rewrites every customer's value scores: a change to profiles, not a read.
Writer = Annotated[Principal, Depends(require(Permission.PROFILES_WRITE))]
ProfileId = Annotated[int, PathParam(ge=1, le=2**62)]


class FitIn(BaseModel):
    calibration_end: str | None = Field(default=None, max_length=32,
                                       description="YYYY-MM-DD, inclusive; enables the holdout")
    time_unit: str = Field(default="week", max_length=16, description="day or week")
    horizon_days: int = Field(default=365, ge=1, le=3650, description="CLV horizon in days")
    discount_rate: float = Field(default=0.0, ge=0, le=10, description="annual discount rate; 0 = none")


class BgNbdOut(BaseModel):
    r: float
    alpha: float
    a: float
    b: float


class GammaGammaOut(BaseModel):
    p: float
    q: float
    v: float


class HoldoutGroup(BaseModel):
    frequency: str  # repeat purchases in the calibration period: "0" .. "6", "7+"
    customers: int
    actual: float  # mean repeat purchases per customer in the holdout
    predicted: float


class HoldoutOut(BaseModel):
    start: str
    end: str
    length: float  # in time units
    customers: int
    actual: int
    predicted: float
    by_frequency: list[HoldoutGroup]


class FitOut(BaseModel):
    fit_id: int
    customers: int
    repeat_customers: int
    bgnbd: BgNbdOut
    gamma_gamma: GammaGammaOut
    time_unit: str
    calibration_end: str | None
    observation_end: str
    horizon_days: int
    discount_rate: float
    scored: int
    diagnostics: dict[str, Any]
    holdout: HoldoutOut | None
    created_at: datetime


class ScoresOut(BaseModel):
    profile_id: int
    p_alive: float | None
    churn_risk: float | None
    expected_purchases: float | None  # over the horizon of the fit that wrote them
    expected_order_value: float | None
    clv: float | None
    updated_at: datetime


@router.post("/fit", response_model=FitOut, status_code=201, summary="Fit BG/NBD and Gamma-Gamma; score everyone")
def fit(request: Request, caller: Writer, body: FitIn | None = None) -> dict[str, Any]:
    body = body or FitIn()  # no body at all: the defaults
    options = ClvOptions(
        calibration_end=parse_day(body.calibration_end) if body.calibration_end else None,
        time_unit=parse_time_unit(body.time_unit),
        horizon_days=body.horizon_days,
        discount_rate=body.discount_rate,
    )
    return run_fit(runtime_of(request).engine, caller.workspace_id, options)


@router.get("/fits/latest", response_model=FitOut, summary="The latest fit of this workspace")
def latest(request: Request, caller: Reader) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        row = clv_store.latest_fit(conn, caller.workspace_id)
    if row is None:
        raise ClvNotFound("No customer-value fit yet: run `siyu clv fit` or POST /api/clv/fit.")
    return describe_fit(row)


@router.get("/scores/{profile_id}", response_model=ScoresOut, summary="A profile's value scores")
def scores(request: Request, caller: Reader, profile_id: ProfileId) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        row = clv_store.profile_value(conn, caller.workspace_id, profile_id)
    if row is None:
        raise ClvNotFound(
            f"Profile {profile_id} has no value scores: it has no orders, or no fit has run since.",
            details={"profile_id": profile_id},
        )
    return row
