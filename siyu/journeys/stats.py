"""A journey's figures: how many entered, are inside, finished and converted, per cohort, with the
holdout's lift; and per step. Rates are pure arithmetic over the counts (tested with plain values)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu.journeys import definitions, stats_store, store
from siyu.journeys.models import Cohort, EntryStatus, Send, Webhook
from siyu.journeys.step_definitions import kind_of


def cohort_figures(counts: dict[tuple[str, str], int], cohort: Cohort) -> dict[str, Any]:
    by_status = {s.value: counts.get((cohort.value, s.value), 0) for s in EntryStatus}
    entered = sum(by_status.values())
    converted = by_status[EntryStatus.CONVERTED.value]
    return {"entered": entered, "active": by_status["active"] + by_status["waiting"],
            "completed": by_status["completed"], "exited": by_status["exited"], "converted": converted,
            "conversion_rate": converted / entered if entered else None}


def lift(treatment_rate: float | None, holdout_rate: float | None) -> float | None:
    """Relative lift of the treatment over the holdout: (t − h) / h; None without both rates or when
    the holdout converted nobody (the ratio is undefined; the absolute difference is reported)."""
    if treatment_rate is None or holdout_rate is None or holdout_rate == 0:
        return None
    return (treatment_rate - holdout_rate) / holdout_rate


def journey_stats(conn: Connection, workspace_id: int, journey_id: int) -> dict[str, Any]:
    journey = store.get_journey(conn, workspace_id, journey_id)
    counts = stats_store.entry_counts(conn, workspace_id, journey_id)
    treatment, holdout = cohort_figures(counts, Cohort.TREATMENT), cohort_figures(counts, Cohort.HOLDOUT)
    total = {key: treatment[key] + holdout[key] for key in ("entered", "active", "completed", "exited", "converted")}
    t_rate, h_rate = treatment["conversion_rate"], holdout["conversion_rate"]
    figures = stats_store.step_counts(conn, workspace_id, journey_id)
    order: list[str] = []
    kinds: dict[str, str] = {}
    if journey.version:
        for step in definitions.parse_stored(store.get_version(conn, workspace_id, journey_id,
                                                               journey.version).definition).steps:
            order.append(step.id)
            kinds[step.id] = kind_of(step)
            figures.setdefault(step.id, {"entered": 0, "completed": 0, "waiting": 0, "outcomes": {}, "messages": {}})
            if isinstance(step, Send | Webhook):
                figures[step.id].setdefault("messages", {})
    order += sorted(s for s in figures if s not in order)  # steps only older versions had
    step_rows = []
    for step_id in order:
        item = figures[step_id]
        sent = item["messages"]
        step_rows.append({"step": step_id, "kind": kinds.get(step_id), **item,
                          "messages_queued": sum(sent.values()), "messages_stopped": sent.get("stopped", 0)})
    return {"journey_id": journey_id, "status": journey.status.value, "version": journey.version, **total,
            "conversion_rate": total["converted"] / total["entered"] if total["entered"] else None,
            "treatment": treatment, "holdout": holdout, "lift": lift(t_rate, h_rate),
            "uplift": t_rate - h_rate if t_rate is not None and h_rate is not None else None, "steps": step_rows}
