"""NPS arithmetic, pure: categories and the score over periods.

NPS = % promoters (9–10) − % detractors (0–6), from −100 to 100; passives (7–8) count in the total
only. A period with no answers has no NPS (None), not 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def category(score: int) -> str:
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise ValueError("an NPS score is a whole number from 0 to 10")
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def summary(scores: Iterable[int]) -> dict[str, float | int | None]:
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for score in scores:
        counts[category(score)] += 1
    total = sum(counts.values())
    nps = round(100 * (counts["promoter"] - counts["detractor"]) / total, 1) if total else None
    return {"answers": total, "promoters": counts["promoter"], "passives": counts["passive"],
            "detractors": counts["detractor"], "nps": nps}


def period_start(moment: datetime, by: str, timezone: str) -> date:
    """The first local day of the week (Monday) or month holding ``moment``."""
    day = moment.astimezone(ZoneInfo(timezone)).date()
    if by == "week":
        return day - timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    raise ValueError("by is week or month")


def over_time(answers: Iterable[tuple[datetime, int]], by: str, timezone: str) -> list[dict[str, object]]:
    """The NPS of each week or month that has answers, oldest first."""
    buckets: dict[date, list[int]] = {}
    for answered_at, score in answers:
        buckets.setdefault(period_start(answered_at, by, timezone), []).append(score)
    return [{"period": start.isoformat(), **summary(buckets[start])} for start in sorted(buckets)]


def by_segment(rows: Iterable[tuple[int, int]], names: dict[int, str]) -> list[dict[str, Any]]:
    """The NPS of each segment with answers, from (segment id, score) rows; most answers first, then by
    name. A segment too small to say much is still shown: the answer count beside it says so."""
    scores: dict[int, list[int]] = {}
    for segment_id, score in rows:
        if segment_id in names:
            scores.setdefault(segment_id, []).append(score)
    found: list[dict[str, Any]] = [{"segment_id": s_id, "name": names[s_id], **summary(values)}
                                   for s_id, values in scores.items()]
    return sorted(found, key=lambda row: (-row["answers"], row["name"]))
