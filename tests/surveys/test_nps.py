"""NPS arithmetic: categories at their edges, the score, and weeks and months in the workspace's zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from siyu.surveys import nps


def test_categories_at_their_edges() -> None:
    assert [nps.category(s) for s in (0, 6, 7, 8, 9, 10)] == ["detractor", "detractor", "passive", "passive",
                                                               "promoter", "promoter"]
    for bad in (-1, 11, True, 7.5):
        with pytest.raises(ValueError):
            nps.category(bad)  # type: ignore[arg-type]


def test_nps_is_promoters_minus_detractors_in_percent() -> None:
    assert nps.summary([10, 9, 8, 3]) == {"answers": 4, "promoters": 2, "passives": 1, "detractors": 1, "nps": 25.0}
    assert nps.summary([0, 1])["nps"] == -100.0
    assert nps.summary([])["nps"] is None


def test_periods_are_local_weeks_and_months() -> None:
    sunday_night = datetime(2027, 3, 7, 17, 0, tzinfo=UTC)  # Monday 8 March 01:00 in Shanghai
    answers = [(sunday_night, 10), (datetime(2027, 3, 1, 4, tzinfo=UTC), 2), (datetime(2027, 3, 31, 17, tzinfo=UTC), 9)]
    assert [(p["period"], p["nps"]) for p in nps.over_time(answers, "week", "Asia/Shanghai")] == [
        ("2027-03-01", -100.0), ("2027-03-08", 100.0), ("2027-03-29", 100.0)]
    assert [(p["period"], p["answers"]) for p in nps.over_time(answers, "month", "Asia/Shanghai")] == [
        ("2027-03-01", 2), ("2027-04-01", 1)]
