"""`siyu journeys holidays`: the year's holidays with the workspace's own dates, and refusals."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from siyu.runtime import Runtime


def _cli(runtime: Runtime, *args: str) -> Any:
    import siyu.journeys.cli  # noqa: F401 - registers `siyu journeys`
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_the_years_holidays_with_the_workspaces_own(runtime: Runtime, client: Any, workspace: Any) -> None:
    patched = client.patch("/api/workspace/settings", headers=workspace.bearer(),
                           json={"calendar": {"dates": {"brand_day": "09-09"}}})
    assert patched.status_code == 200, patched.text  # the documented way to add a workspace's own date
    shown = _cli(runtime, "journeys", "holidays", "-w", workspace.name, "--year", "2027", "--json")
    assert shown.exit_code == 0, shown.output
    found = {h["key"]: (h["date"], h["name"]) for h in json.loads(shown.output)}
    assert found["spring_festival"] == ("2027-02-06", "春节") and found["mid_autumn"][0] == "2027-09-15"
    assert found["brand_day"] == ("2027-09-09", "brand_day") and found["double_11"][0] == "2027-11-11"
    english = _cli(runtime, "journeys", "holidays", "--year", "2028", "--language", "en")
    assert english.exit_code == 0 and "2028-01-26  spring_festival  Spring Festival" in english.output
    assert _cli(runtime, "journeys", "holidays", "--language", "fr").exit_code == 2
    assert _cli(runtime, "journeys", "holidays", "--year", "1800").exit_code == 2
