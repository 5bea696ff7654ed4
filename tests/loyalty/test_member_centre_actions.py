"""What a member does on their centre page, on both databases: redeem a catalogue item with points (the
same page key twice redeems once; not enough points says so and spends nothing; the balance never goes
below zero), join the invite campaign (twice is one participation) and fetch their poster through the
centre's signed URL."""

from __future__ import annotations

import html
import io
import json
import re
from typing import Any

from PIL import Image

from siyu import clock
from tests.acquisition.test_posters import LAYOUT, image_bytes
from tests.growth.campaign_helpers import campaign
from tests.loyalty.helpers import NOW, balances
from tests.loyalty.test_member_centre import REFERRAL, centre_path, member_with_everything
from tests.payments.pay import person


def _redeem(client: Any, path: str, offer_id: int, key: str, lang: str = "zh") -> Any:
    return client.post(f"{path}/redeem", params={"lang": lang}, data={"offer_id": str(offer_id), "key": key})


def _claims(client: Any, workspace: Any, offer_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/api/offers/{offer_id}/claims", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_redeeming_from_the_page_spends_once_per_key_and_never_below_zero(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    path = centre_path(client, workspace, made["member"])
    page = client.get(path).text
    keys = re.findall(r'name="key" value="([A-Za-z0-9_-]+)"', page)
    redrawn = re.findall(r'name="key" value="([^"]+)"', client.get(path).text)
    assert len(keys) == 1 and len(redrawn) == 1 and redrawn != keys  # a fresh key each time the page is drawn

    first = _redeem(client, path, made["gift"], keys[0])
    assert first.status_code == 200, first.text
    said = html.unescape(first.text)
    assert "兑换成功：积分换购·护手霜，券码" in said and 'id="balance">288<' in first.text
    again = _redeem(client, path, made["gift"], keys[0])  # a double tap, or the browser resending the form
    assert again.status_code == 200 and 'id="balance">288<' in again.text
    code = re.search(r"券码 (\S+)</div>", said).group(1)
    assert code in html.unescape(again.text)  # the same coupon, shown again
    claims = _claims(client, workspace, made["gift"])
    assert [c["code"] for c in claims] == [code] and claims[0]["channel"] == "points"
    assert "积分换购·护手霜" in said.split('id="coupons-claimed"')[1]  # now among the usable coupons
    assert "积分不足" in said.split('id="catalogue"')[1].split("</section>")[0]  # 288 left: marked as short

    short = _redeem(client, path, made["gift"], "another-key-1")
    assert short.status_code == 409
    assert "积分不足：兑换需要 1000 积分，你现在有 288 积分，积分未扣除。" in html.unescape(short.text)
    assert balances(runtime, workspace, made["member"]) == (288, 288, 288)
    english = _redeem(client, path, made["gift"], "another-key-2", lang="en")
    assert english.status_code == 409 and "Not enough points: this needs 1000 points and you have 288" in \
        html.unescape(english.text)
    assert len(_claims(client, workspace, made["gift"])) == 1
    ledger = client.get(f"/api/loyalty/members/{made['member']}/points", headers=workspace.bearer()).json()
    assert [(e["kind"], e["points"]) for e in ledger] == [("spend", -1000), ("earn", 1288)]


def test_bad_forms_and_items_outside_the_catalogue_are_refused_with_a_page(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    path = centre_path(client, workspace, made["member"])
    for offer_id, key in (("x", "good-key-123"), (str(made["gift"]), "short"), (str(made["gift"]), "bad key!!!")):
        answer = client.post(f"{path}/redeem", data={"offer_id": offer_id, "key": key})
        assert answer.status_code == 422 and 'id="notice"' in answer.text
    outside = _redeem(client, path, 424242, "good-key-456", lang="en")
    assert outside.status_code == 422 and "It is no longer in the catalogue." in outside.text
    assert balances(runtime, workspace, made["member"])[0] == 1288


def test_a_sold_out_item_spends_nothing(runtime, client, workspace) -> None:  # noqa: ANN001
    from tests.offers.helpers import make_offer

    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    last = make_offer(runtime, workspace, name="限量礼盒", stock=1)
    programme = client.get("/api/loyalty/programme", headers=workspace.bearer()).json()
    programme["catalogue"].append({"offer_id": last.id, "points": 10})
    assert client.put("/api/loyalty/programme", headers=workspace.bearer(), json={
        k: v for k, v in programme.items() if k not in ("period_start", "period_index", "members_by_tier")
    }).status_code == 200
    other = person(client, workspace, None, "rival")
    client.post(f"/api/loyalty/members/{other}/adjust", headers=workspace.bearer(),
                json={"points": 10, "note": "x", "idempotency_key": "rival"})
    assert _redeem(client, centre_path(client, workspace, other), last.id, "rival-key-1").status_code == 200
    mine = _redeem(client, centre_path(client, workspace, made["member"]), last.id, "my-key-0001")
    assert mine.status_code == 409 and "兑换未成功：礼品已兑完。 积分未扣除。" in html.unescape(mine.text)
    assert balances(runtime, workspace, made["member"]) == (1288, 1288, 1288)


def _poster_campaign(client: Any, workspace: Any) -> dict[str, Any]:
    draft = campaign(client, workspace, "referral", REFERRAL, launch=False, name="带新有礼")
    template = client.post("/api/posters", headers=workspace.bearer(),
                           data={"name": "邀请海报", "layout": json.dumps(LAYOUT),
                                 "target_url": f"http://testserver/c/{draft['token']}"},
                           files={"background": ("bg.png", image_bytes(), "image/png")})
    assert template.status_code == 201, template.text
    rules = {**draft["rules"], "poster_template_id": template.json()["id"]}
    body = {"kind": "referral", "name": "带新有礼", "rules": rules, "operator": draft["operator"],
            "starts_at": draft["starts_at"], "ends_at": draft["ends_at"]}
    assert client.put(f"/api/campaigns/{draft['id']}", json=body, headers=workspace.bearer()).status_code == 200
    launched = client.post(f"/api/campaigns/{draft['id']}/launch", headers=workspace.bearer())
    assert launched.status_code == 200, launched.text
    return launched.json()


def test_joining_the_invite_campaign_shows_the_share_link_and_the_poster(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    assert client.put("/api/loyalty/programme", headers=workspace.bearer(),
                      json={"tiers": [{"name": "普卡", "threshold": 0}]}).status_code == 200
    invite = _poster_campaign(client, workspace)
    member = person(client, workspace, None, "eve")
    path = centre_path(client, workspace, member)
    assert client.get(f"{path}/poster.png").status_code == 404  # not joined yet
    joined = client.post(f"{path}/invite", params={"lang": "en"}, follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == f"{path}?lang=en#invite"
    assert client.post(f"{path}/invite", follow_redirects=False).status_code == 303  # twice: one participation
    participation = client.get(f"/api/campaigns/{invite['id']}/participants/{member}", headers=workspace.bearer())
    assert participation.status_code == 200
    ref = participation.json()["token"]
    page = client.get(path, params={"lang": "en"})
    text = html.unescape(page.text)
    assert f"{runtime.config.public_url}/c/{invite['token']}?ref={ref}" in text and "My invite link" in text
    assert f'src="{path}/poster.png"' in page.text and ">Copy link</button>" in page.text
    png = client.get(f"{path}/poster.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (720, 1100)
    assert client.get(f"/m/{path[3:-3]}xyz/poster.png").status_code == 404


def test_the_programme_chooses_the_invite_campaign_and_an_ended_one_cannot_be_joined(runtime, client,  # noqa: ANN001
                                                                                      workspace) -> None:
    clock.freeze(NOW)
    task = campaign(client, workspace, "task_unlock", {"tiers": [
        {"threshold": 1, "stock": 5, "reward": {"cost_fen": 100}}]}, name="任务宝·邀3人")
    referral = campaign(client, workspace, "referral", REFERRAL, name="新的老带新")
    assert client.put("/api/loyalty/programme", headers=workspace.bearer(), json={
        "tiers": [{"name": "普卡", "threshold": 0}], "invite_campaign_id": task["id"]}).status_code == 200
    member = person(client, workspace, None, "fay")
    path = centre_path(client, workspace, member)
    assert "任务宝·邀3人" in html.unescape(client.get(path).text)
    client.post(f"/api/campaigns/{task['id']}/end", headers=workspace.bearer())
    assert "新的老带新" in html.unescape(client.get(path).text)  # the chosen one ended: the newest referral
    client.post(f"/api/campaigns/{referral['id']}/end", headers=workspace.bearer())
    page = client.get(path)
    assert 'id="invite"' not in page.text
    closed = client.post(f"{path}/invite", params={"lang": "en"})
    assert closed.status_code == 409 and "This campaign has ended" in html.unescape(closed.text)


def test_simultaneous_taps_spend_once_and_never_below_zero(runtime, client, workspace) -> None:  # noqa: ANN001
    """Four taps at once with one page key redeem once; four with different keys and points for one
    redeem once. The member's row lock (siyu.loyalty.points) orders them; this checks it from the page."""
    from concurrent.futures import ThreadPoolExecutor

    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    path = centre_path(client, workspace, made["member"])
    with ThreadPoolExecutor(4) as pool:
        same = list(pool.map(lambda _: _redeem(client, path, made["gift"], "one-tap-key"), range(4)))
    assert [a.status_code for a in same] == [200] * 4
    codes = {re.search(r"券码 (\S+)</div>", html.unescape(a.text)).group(1) for a in same}
    assert len(codes) == 1 and balances(runtime, workspace, made["member"]) == (288, 288, 288)
    client.post(f"/api/loyalty/members/{made['member']}/adjust", headers=workspace.bearer(),
                json={"points": 712, "note": "top up", "idempotency_key": "top-up"})  # 1000: enough for one
    with ThreadPoolExecutor(4) as pool:
        racing = list(pool.map(lambda n: _redeem(client, path, made["gift"], f"racing-key-{n}"), range(4)))
    assert sorted(a.status_code for a in racing) == [200, 409, 409, 409]
    assert balances(runtime, workspace, made["member"]) == (0, 0, 0)
    assert len(_claims(client, workspace, made["gift"])) == 2
