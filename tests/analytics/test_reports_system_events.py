"""What siyu writes about a person is not their activity, on both databases.

Segment entries and exits, tags, consent and trait edits are in the event log, but they never make
anyone active, returning, or first seen somewhere in a report — unless the report asks for one of
them by name. The brand acts through the management API at the times below (local, Shanghai); the
clock ends at 2024-03-20 12:00, as in the other report tests.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from siyu import clock
from siyu.analytics.engine import open_engine
from siyu.analytics.mirror import sync
from siyu.analytics.reports.retention_store import first_seen_sql
from siyu.analytics.reports.system_events import SYSTEM_EVENTS
from siyu.db.engine import read
from siyu.db.tables import events, profiles
from siyu.db.types import to_millis
from siyu.loyalty.models import SYSTEM_ENTRIES as LOYALTY_ENTRIES
from siyu.runtime import Runtime
from tests.analytics.test_mirror import send
from tests.analytics.test_reports_scenario import NOW, at, track

VIEW = "Page Viewed"
SEEN_90_DAYS = {"event": VIEW, "within": "90d"}


class Brand:
    """The brand's own hand on people: each call at a local day and hour, through the management API."""

    def __init__(self, client: Any, runtime: Runtime, workspace: Any) -> None:
        self.client, self.runtime, self.workspace = client, runtime, workspace

    def call(self, method: str, path: str, day: str, hour: int = 12, **body: Any) -> dict[str, Any]:
        clock.freeze(at(day, hour))
        response = self.client.request(method, path, headers=self.workspace.bearer(), **body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def profile(self, user: str) -> int:
        lookup = {"type": "user_id", "value": user}
        return self.client.get("/api/profiles/lookup", params=lookup, headers=self.workspace.bearer()).json()["id"]

    def does(self, day: str, *messages: dict[str, Any]) -> None:
        """The people's own events, received that day."""
        clock.freeze(at(day, 23))
        send(self.runtime, self.workspace.id, list(messages))

    def tag(self, user: str, day: str, *, remove: bool = False) -> None:
        change = {"remove" if remove else "add": ["VIP"]}
        self.call("POST", f"/api/profiles/{self.profile(user)}/tags", day, json=change)

    def record_consent(self, user: str, day: str) -> None:
        consent = {"channel": "sms", "purpose": "marketing", "status": "granted"}
        self.call("PUT", f"/api/profiles/{self.profile(user)}/consent", day, json=consent)

    def edit_traits(self, user: str, day: str) -> None:
        self.call("PATCH", f"/api/profiles/{self.profile(user)}/traits", day, json={"set": {"city": "上海"}})


def brand_acts(client: Any, runtime: Runtime, workspace: Any) -> Brand:
    """q views a page on 2023-12-19 and enters "seen in 90 days" that day; the refresh moves q out on
    2024-03-19, 91 days later (the review's case) · n (小红书) arrives 01-05, is tagged on day 15, has
    traits edited 03-16 and the tag removed 03-17 · m (no channel) arrives 01-10, consent to SMS is
    recorded on day 2 (the event carries ``channel: sms``), traits edited on day 3 · r arrives 03-04
    and is tagged 03-12. The 03-19 refresh also puts n, m and r in the segment (no worker runs here
    to do it as they arrived). Nobody does anything else."""
    brand = Brand(client, runtime, workspace)
    brand.does("2023-12-19", track("q", VIEW, "2023-12-19"))
    saved = {"name": "近 90 天浏览", "definition": SEEN_90_DAYS}
    segment = brand.call("POST", "/api/segments", "2023-12-19", json=saved)
    assert segment["size"] == 1
    brand.call("POST", "/api/tags", "2023-12-19", json={"name": "VIP"})
    brand.does("2024-01-05", track("n", VIEW, "2024-01-05", channel="xiaohongshu"))
    brand.does("2024-01-10", track("m", VIEW, "2024-01-10"))
    brand.record_consent("m", "2024-01-12")
    brand.edit_traits("m", "2024-01-13")
    brand.tag("n", "2024-01-20")
    brand.does("2024-03-04", track("r", VIEW, "2024-03-04"))
    brand.tag("r", "2024-03-12")
    brand.edit_traits("n", "2024-03-16")
    brand.tag("n", "2024-03-17", remove=True)
    refreshed = brand.call("POST", f"/api/segments/{segment['id']}/refresh", "2024-03-19")
    assert refreshed["exited"] == 1
    clock.freeze(NOW)
    return brand


def report(brand: Brand, name: str, **parameters: Any) -> dict[str, Any]:
    clock.freeze(NOW)
    response = brand.client.get(f"/api/reports/{name}", params=parameters, headers=brand.workspace.bearer())
    assert response.status_code == 200, response.text
    return response.json()


def test_what_siyu_writes_itself_is_exactly_the_system_events(client, runtime: Runtime, workspace) -> None:
    brand_acts(client, runtime, workspace)
    with read(runtime.engine) as conn:
        written = set(
            conn.execute(
                select(events.c.name).where(
                    events.c.workspace_id == workspace.id, events.c.user_id.is_(None), events.c.anonymous_id.is_(None)
                )
            ).scalars()
        )
    assert written == SYSTEM_EVENTS - LOYALTY_ENTRIES  # this brand has no loyalty programme: the rest, exactly
    assert LOYALTY_ENTRIES == {"Tier Changed", "Tier At Risk", "Points Expiring", "Points Changed"} <= SYSTEM_EVENTS


def test_being_moved_tagged_or_edited_does_not_make_anyone_active(client, runtime: Runtime, workspace) -> None:
    brand = brand_acts(client, runtime, workspace)
    days = report(brand, "activity", **{"from": "2024-03-14", "to": "2024-03-20"})["days"]
    # Nobody on 03-19, when the refresh moved q out and n, m and r in; nor n on 03-16 and 03-17.
    assert [d["dau"] for d in days] == [0] * 7
    assert [d["wau"] for d in days] == [0] * 7
    assert [d["mau"] for d in days] == [1] * 7  # r, for the view on 03-04


def test_activity_on_a_chosen_system_event_counts_it(client, runtime: Runtime, workspace) -> None:
    brand = brand_acts(client, runtime, workspace)
    days = report(brand, "activity", **{"from": "2024-03-14", "to": "2024-03-20", "event": "Segment Exited"})["days"]
    assert [d["dau"] for d in days] == [0, 0, 0, 0, 0, 1, 0]


def test_a_tag_is_not_a_return_unless_it_is_the_chosen_returning_event(client, runtime: Runtime, workspace) -> None:
    brand = brand_acts(client, runtime, workspace)
    span = {"from": "2024-03-01", "to": "2024-03-20"}
    (row,) = report(brand, "retention", **span)["rows"]
    assert (row["cohort"], row["people"], row["returned"]) == ("2024-03-04", 1, [1, 0, 0])  # r, tagged in week 1
    (row,) = report(brand, "retention", **span, event="Tag Added")["rows"]
    assert row["returned"] == [0, 1, 0]


def test_thirty_day_retention_and_first_channel_ignore_what_the_brand_wrote(
    client, runtime: Runtime, workspace
) -> None:
    brand = brand_acts(client, runtime, workspace)
    body = report(brand, "channels", **{"from": "2024-01-01", "to": "2024-03-20"})
    rows = {r["channel"]: (r["new_customers"], r["matured_30d"], r["returned_30d"]) for r in body["rows"]}
    # n's tag on day 15 and m's consent on day 2 are no return; the consent's "sms" is not m's channel.
    assert rows == {"xiaohongshu": (1, 1, 0), "unknown": (2, 1, 0)}
    assert (body["total"]["returned_30d"], body["total"]["retention_30d"]) == (0, 0.0)
    by_channel = report(brand, "retention", **{"from": "2024-01-01", "to": "2024-03-20", "breakdown": "channel"})
    assert {r["breakdown"] for r in by_channel["rows"]} == {"xiaohongshu", "unknown"}


def test_the_aarrr_retention_line_ignores_what_the_brand_wrote(client, runtime: Runtime, workspace) -> None:
    brand = brand_acts(client, runtime, workspace)
    stages = report(brand, "aarrr", **{"from": "2024-01-01", "to": "2024-03-20"})["stages"]
    retention = next(s for s in stages if s["stage"] == "retention")
    assert (retention["value"], retention["base"], retention["rate"]) == (0, 2, 0.0)


def test_a_funnel_step_chosen_as_segment_entered_counts(client, runtime: Runtime, workspace) -> None:
    brand = brand_acts(client, runtime, workspace)
    december = {"from": "2023-12-01", "to": "2023-12-31"}
    body = report(brand, "funnel", **december, step=[VIEW, "Segment Entered"])
    assert body["total"]["people"] == [1, 1]  # q viewed at 10:00 and entered at 12:00


def test_a_funnel_by_channel_takes_the_channel_from_the_persons_own_events(client, runtime: Runtime, workspace) -> None:
    brand = brand_acts(client, runtime, workspace)
    january = {"from": "2024-01-01", "to": "2024-01-31", "breakdown": "channel"}
    body = report(brand, "funnel", **january, step=[VIEW, "Consent Changed"])
    assert body["total"]["people"] == [2, 1]
    by_channel = {g["breakdown"]: g["people"] for g in body["breakdowns"]}
    assert by_channel == {"unknown": [1, 1], "xiaohongshu": [1, 0]}  # m's channel is not the consent's "sms"


def test_first_seen_and_first_channel_still_equal_the_profile_rollups(client, runtime: Runtime, workspace) -> None:
    brand_acts(client, runtime, workspace)
    sync(runtime, workspace.id)
    with read(runtime.engine) as conn:
        stored = {
            row.id: (to_millis(row.first_seen_at), row.first_channel)
            for row in conn.execute(
                select(profiles.c.id, profiles.c.first_seen_at, profiles.c.first_channel).where(
                    profiles.c.workspace_id == workspace.id
                )
            )
        }
    with open_engine(runtime, workspace.id) as engine:
        derived = {
            pid: (first, channel)
            for pid, first, channel in engine.execute(first_seen_sql(), {"workspace_id": workspace.id})
        }
    assert len(derived) == 4 and derived == stored
