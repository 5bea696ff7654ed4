"""Date gifts across a year, on both databases: the clock travels from January 2027 to March 2028
and a birthday journey, a Spring Festival greeting, a Double 11 warm-up and a workspace's own date
enter each person on the right day in their own time zone, at the trigger's local time, exactly
once — Los Angeles a day's hours after Shanghai, a 29 February birthday on 28 February 2027 and on
29 February 2028, a time zone trait that names no zone falling back to the workspace's."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from siyu import clock
from siyu.db.engine import write
from siyu.journeys import schedules
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from tests.journeys.scenario import email, entries, live, person, quiet_policy

START = datetime(2027, 1, 20, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
END = datetime(2028, 3, 2, 4, 0, tzinfo=UTC)
STEP = timedelta(hours=23)  # not a divisor of a day: runs land at every hour of the day over the year
ZONES = {"sh": "Asia/Shanghai", "la": "America/Los_Angeles", "leap": "Europe/London", "odd": "Asia/Shanghai"}


def _gift(trigger: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": trigger, "entry": {"rule": "every_time"}, "steps": [{"id": "gift", "send": email("礼物")}]}


def _days(runtime: Runtime, workspace: Any, journey: dict[str, Any], users: dict[int, str],
          at: time) -> list[tuple[str, str]]:
    """(user, local day) per entry, after checking that each entry happened on that local day, at or
    after the trigger's local time and within one step of it."""
    found = []
    for entry in entries(runtime, workspace, journey["id"]):
        user, day = users[entry["profile_id"]], entry["entry_key"].split(":")[1]
        zone = ZoneInfo(ZONES[user])
        moment = datetime.combine(date.fromisoformat(day), at, zone)
        entered = entry["entered_at"].replace(tzinfo=UTC) if entry["entered_at"].tzinfo is None else entry["entered_at"]
        assert moment <= entered < moment + STEP, (user, day, entered)  # the moment is on that local day
        found.append((user, day))
    return sorted(found)


def test_date_gifts_enter_each_person_on_their_local_day_once_across_a_year(runtime: Runtime, client: Any,
                                                                           workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    with write(runtime.engine) as conn:
        workspace_store.update_workspace_settings(conn, workspace.id, {"calendar": {"dates": {"brand_day": "06-06"}}})
    clock.freeze(START)
    users = {person(client, workspace, "sh", birthday="1990-03-15"): "sh",
             person(client, workspace, "la", birthday="1988-03-15", timezone="America/Los_Angeles"): "la",
             person(client, workspace, "leap", birthday="2000-02-29", timezone="Europe/London"): "leap",
             person(client, workspace, "odd", birthday="1991-03-15", timezone="Mars/Olympus"): "odd"}
    birthday = live(client, workspace, _gift({"date_trait": "birthday", "at": "10:00"}), "生日")
    spring = live(client, workspace, _gift({"holiday": "spring_festival", "offset": "-3d", "at": "09:30"}), "春节")
    double_11 = live(client, workspace, _gift({"holiday": "double_11", "offset": "-3d", "at": "20:00"}), "双十一")
    brand = live(client, workspace, _gift({"holiday": "brand_day", "at": "08:00"}), "品牌日")
    while clock.now() < END:
        schedules.fire_due(runtime.engine, workspace.id, "Asia/Shanghai")
        clock.advance(STEP)
    assert _days(runtime, workspace, birthday, users, time(10)) == [
        ("la", "2027-03-15"), ("leap", "2027-02-28"), ("leap", "2028-02-29"), ("odd", "2027-03-15"),
        ("sh", "2027-03-15")]
    assert _days(runtime, workspace, spring, users, time(9, 30)) == sorted(
        [(u, "2027-02-03") for u in users.values()] + [(u, "2028-01-23") for u in users.values()])
    assert _days(runtime, workspace, double_11, users, time(20)) == sorted((u, "2027-11-08") for u in users.values())
    assert _days(runtime, workspace, brand, users, time(8)) == sorted((u, "2027-06-06") for u in users.values())


def test_a_stopped_worker_catches_up_a_week_and_fires_nobody_twice(runtime: Runtime, client: Any,
                                                                  workspace: Any) -> None:
    quiet_policy(runtime, workspace.id)
    clock.freeze(datetime(2027, 11, 1, 4, 0, tzinfo=UTC))
    users = {person(client, workspace, "sh"): "sh",
             person(client, workspace, "la", timezone="America/Los_Angeles"): "la"}
    double_11 = live(client, workspace, _gift({"holiday": "double_11", "offset": "-3d", "at": "20:00"}), "双十一")
    schedules.fire_due(runtime.engine, workspace.id, "Asia/Shanghai")
    assert entries(runtime, workspace, double_11["id"]) == []
    clock.freeze(datetime(2027, 11, 12, 0, 0, tzinfo=UTC))  # the worker was stopped over the day itself
    schedules.fire_due(runtime.engine, workspace.id, "Asia/Shanghai")
    schedules.fire_due(runtime.engine, workspace.id, "Asia/Shanghai")
    keys = sorted((users[e["profile_id"]], e["entry_key"].split(":")[1]) for e in entries(runtime, workspace,
                                                                                        double_11["id"]))
    assert keys == [("la", "2027-11-08"), ("sh", "2027-11-08")]
