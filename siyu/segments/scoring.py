"""Compute every built-in score for a workspace in one transaction (nightly by the worker, or on demand)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.segments import score_store
from siyu.segments.scores import LIFECYCLE_STAGES, RFM_SEGMENT_NAMES, KocWeights


def compute_all(conn: Connection, workspace_id: int, now: datetime, settings: dict[str, Any]) -> dict[str, Any]:
    score_store.forget_departed(conn, workspace_id)
    buyers = score_store.compute_rfm(conn, workspace_id, now)
    thresholds = score_store.lifecycle_thresholds(conn, workspace_id, settings)
    score_store.compute_lifecycle(conn, workspace_id, now, thresholds)
    kocs = score_store.compute_koc(conn, workspace_id, now, KocWeights.from_settings(settings))
    return {"buyers": buyers, "koc_profiles": kocs, "lifecycle_thresholds": asdict(thresholds),
            "rfm_segments": score_store.stage_counts(conn, workspace_id, "rfm_segment"),
            "lifecycle": score_store.stage_counts(conn, workspace_id, "lifecycle_stage")}


def rfm_report(conn: Connection, workspace_id: int) -> dict[str, Any]:
    counts = score_store.stage_counts(conn, workspace_id, "rfm_segment")
    return {"grid": score_store.rfm_grid(conn, workspace_id),
            "segments": [{"segment": key, "name_zh": zh, "name_en": en, "customers": counts.get(key, 0)}
                         for key, (zh, en) in RFM_SEGMENT_NAMES.items()]}


def lifecycle_report(conn: Connection, workspace_id: int, settings: dict[str, Any]) -> dict[str, Any]:
    counts = score_store.stage_counts(conn, workspace_id, "lifecycle_stage")
    thresholds = score_store.lifecycle_thresholds(conn, workspace_id, settings)
    return {"thresholds": asdict(thresholds),
            "stages": [{"stage": key, "name_zh": zh, "name_en": en, "customers": counts.get(key, 0)}
                       for key, (zh, en) in LIFECYCLE_STAGES.items()]}
