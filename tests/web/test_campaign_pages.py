"""Console pages for campaigns over HTTP on both databases: the list, the editor (starter rules per
kind, a draft only), a dashboard with its figures, funnel, ranking and findings, roles, and another
workspace's ids."""

from __future__ import annotations

import json
import re
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Role
from tests.conftest import make_workspace
from tests.growth.campaign_helpers import START, arrive, campaign, join, person
from tests.web.test_pages import (
    PASSWORD,
    sign_in,
    signed_in,  # noqa: F401 - the fixture
)

ASSIST = {"helpers_needed": 2, "reward": {"cost_fen": 500}}


def _data(html: str, element_id: str) -> Any:
    return json.loads(re.search(rf'id="{element_id}" type="application/json">(.*?)</script>', html, re.S).group(1))


def test_the_list_the_editor_and_a_dashboard(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    assert 'id="no-campaigns"' in signed_in.get("/campaigns").text
    editor = signed_in.get("/campaigns/new")
    assert editor.status_code == 200 and 'id="campaign-form"' in editor.text and "任务宝" in editor.text
    starters = _data(editor.text, "form-data")["starters"]
    assert set(starters) == {"referral", "assist", "group_buy", "bargain", "split_coupon", "task_unlock",
                             "leaderboard", "check_in"}
    clock.freeze(START)
    found = campaign(signed_in, workspace, "assist", ASSIST, name="助力领券")
    owner = person(signed_in, workspace, "owner")
    ref = join(signed_in, workspace, found["id"], owner)["token"]
    signed_in.get(f"/c/{found['token']}", params={"ref": ref})
    arrive(signed_in, workspace, found["id"], "helps", ref, person(signed_in, workspace, "helper"))
    listed = signed_in.get("/campaigns").text
    row = re.search(rf'<tr data-id="{found["id"]}">(.*?)</tr>', listed, re.S).group(1)
    assert "助力领券" in row and '<td class="kind">助力</td>' in row and '<td class="status">运行中</td>' in row
    page = signed_in.get(f"/campaigns/{found['id']}").text
    for element, text in (("figure-participants", "1"), ("figure-sent", "1"), ("figure-accepted", "1"),
                          ("figure-k", "1.0")):
        assert re.search(rf'id="{element}">{re.escape(text)}<', page), element
    assert _data(page, "chart-data")["series"][0]["values"] == [1, 1, 1]
    assert 'id="retention"' in page and '<tr data-group="campaign">' in page and "本活动带来" in page
    assert 'id="ranking"' in page and 'id="findings"' in page and "外部链接" in page  # the assist warning
    assert 'id="end"' in page and 'id="launch"' not in page
    live_editor = signed_in.get(f"/campaigns/{found['id']}/edit")
    assert live_editor.status_code == 403 and 'id="refused"' in live_editor.text
    groups = campaign(signed_in, workspace, "group_buy", starters["group_buy"], name="拼团")
    prices = re.search(r'id="campaign-prices">(.*?)</p>', signed_in.get(f"/campaigns/{groups['id']}").text, re.S)
    assert " ".join(prices.group(1).split()) == "原价 ¥99.00 · 团长价 ¥49.00 · 团员价 ¥59.00"


def test_an_analyst_sees_no_buttons_and_other_workspaces_see_nothing(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST, launch=False)
    email = f"analyst-{workspace.name}@brand.cn"
    with write(runtime.engine) as conn:
        user = workspace_store.create_user(conn, email, PASSWORD, display_name="分析师")
        workspace_store.add_member(conn, workspace.id, user.id, Role.ANALYST)
    assert sign_in(client, email).status_code == 303
    page = client.get(f"/campaigns/{found['id']}").text
    assert 'id="actions"' not in page and 'id="new-campaign"' not in client.get("/campaigns").text
    assert client.get("/campaigns/new").status_code == 403
    other = make_workspace(runtime, "other")
    theirs = campaign(client, other, "assist", ASSIST, launch=False)
    assert client.get(f"/campaigns/{theirs['id']}").status_code == 404
    assert client.get(f"/campaigns/{theirs['id']}/edit").status_code == 404
