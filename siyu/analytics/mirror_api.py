"""`GET /api/analytics/status`: how fresh and how large the workspace's analytics mirror is."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from siyu.api.auth import require, runtime_of
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
# No analytics permission exists yet; the mirror's status is as sensitive as profile counts.
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]


@router.get("/status", summary="Watermark, lag, parts and size of the workspace's columnar event mirror")
def mirror_status(request: Request, caller: Reader) -> dict[str, Any]:
    from siyu.analytics.mirror import status

    data = status(runtime_of(request), caller.workspace_id)
    data.pop("directory")  # a server path is no business of an API client
    return data
