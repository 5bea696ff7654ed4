"""The public campaign page ``/c/{token}`` on both databases: zh or en by ?lang= or Accept-Language,
always the rules and the operator's identity, a personal link counted as an invite sent and showing
its owner's progress, and the participant's poster whose QR leads back here with their ref."""

from __future__ import annotations

import html
import io
import json
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from siyu import clock
from tests.acquisition.test_posters import LAYOUT, image_bytes
from tests.growth.campaign_helpers import DESCRIPTION, OPERATOR, START, arrive, campaign, join, person

ASSIST = {"helpers_needed": 3, "reward": {"cost_fen": 100}, "revoke_within_days": 3}


def test_the_page_shows_rules_and_operator_in_the_visitor_s_language(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST, name="好友助力领好礼")
    chinese = client.get(f"/c/{found['token']}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert chinese.status_code == 200
    for text in (DESCRIPTION["zh"], OPERATOR["name"], OPERATOR["contact"], "活动规则", "活动主办方",
                 "3 位好友助力即可解锁奖励", "3 天内取消关注或退群", "进行中", "2026-12-01 10:00"):
        assert text in chinese.text, text
    english = client.get(f"/c/{found['token']}", headers={"Accept-Language": "en-US,en;q=0.8"})
    for text in (DESCRIPTION["en"], OPERATOR["name"], "Rules", "Run by", "3 friends' help unlocks the reward"):
        assert text in html.unescape(english.text), text
    forced = client.get(f"/c/{found['token']}", params={"lang": "zh"}, headers={"Accept-Language": "en"})
    assert "活动规则" in forced.text
    missing = client.get("/c/nothing-here", params={"lang": "en"})
    assert missing.status_code == 404 and "Page not found" in missing.text


def test_a_personal_link_counts_the_visit_and_shows_the_owner_s_progress(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    owner = person(client, workspace, "owner")
    ref = join(client, workspace, found["id"], owner)["token"]
    arrive(client, workspace, found["id"], "helps", ref, person(client, workspace, "friend"))
    page = client.get(f"/c/{found['token']}", params={"ref": ref, "lang": "zh"})
    assert "已有 1 位好友助力，还差 2 位" in page.text
    client.get(f"/c/{found['token']}", params={"ref": ref})
    client.get(f"/c/{found['token']}", params={"ref": "nobody"})
    figures = client.get(f"/api/campaigns/{found['id']}/measurement", headers=workspace.bearer()).json()
    assert (figures["invites_sent"], figures["invites_accepted"]) == (2, 1)


def test_each_participant_gets_a_poster_whose_link_leads_back_with_their_ref(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(START)
    draft = campaign(client, workspace, "assist", ASSIST, launch=False)
    template = client.post("/api/posters", headers=workspace.bearer(),
                           data={"name": "助力海报", "layout": json.dumps(LAYOUT),
                                 "target_url": f"http://testserver/c/{draft['token']}"},
                           files={"background": ("bg.png", image_bytes(), "image/png")})
    assert template.status_code == 201, template.text
    template_id = template.json()["id"]
    body = {"kind": "assist", "name": "poster", "rules": {"description": DESCRIPTION, **ASSIST,
                                                          "poster_template_id": template_id},
            "operator": OPERATOR, "starts_at": draft["starts_at"], "ends_at": draft["ends_at"]}
    assert client.put(f"/api/campaigns/{draft['id']}", json=body, headers=workspace.bearer()).status_code == 200
    client.post(f"/api/campaigns/{draft['id']}/launch", headers=workspace.bearer())
    owner = person(client, workspace, "poster-owner")
    join(client, workspace, draft["id"], owner)
    png = client.get(f"/api/campaigns/{draft['id']}/participants/{owner}/poster.png", headers=workspace.bearer())
    assert png.status_code == 200 and Image.open(io.BytesIO(png.content)).size[0] > 0
    link = client.get(f"/api/posters/{template_id}", headers=workspace.bearer()).json()["links"][0]
    hop = client.get(f"/s/{link['token']}", follow_redirects=False)
    target = urlsplit(hop.headers["location"])
    assert target.path == f"/c/{draft['token']}"
    poster_ref = parse_qs(target.query)["ref"][0]
    friend = person(client, workspace, "poster-friend")
    helped = arrive(client, workspace, draft["id"], "helps", poster_ref, friend).json()
    assert helped["status"] == "credited"
    page = client.get(f"/c/{draft['token']}", params={"ref": poster_ref, "lang": "en"})
    assert "Friends who helped: 1; 2 more to go" in page.text
    nobody = client.get(f"/api/campaigns/{draft['id']}/participants/{friend}/poster.png", headers=workspace.bearer())
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "campaigns.no_poster")
