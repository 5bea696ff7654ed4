"""The member centre ``/m/{token}`` on both databases: a member with a tier, points history, coupons in
their three groups, the catalogue and the invite campaign, in Chinese and English; links that were
tampered with or have expired get a friendly page (404 / 410), never a 500; a merged-away person's
link opens the survivor's centre; and the link comes from the API and the CLI."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from typer.testing import CliRunner

from siyu import clock
from siyu.db.engine import write
from siyu.loyalty.member_centre_token import CentreToken, TokenState, read_token, state_of, token_for
from siyu.offers import service as offers_service
from siyu.offers.redemption import Order
from siyu.worker import run_pass
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import KeyKind, Role
from tests.growth.campaign_helpers import campaign
from tests.loyalty.helpers import LADDER, NOW
from tests.offers.helpers import claim, make_offer
from tests.payments.pay import person

REFERRAL = {"inviter_reward": {"cost_fen": 500}, "invitee_reward": {"cost_fen": 300}, "attribution_days": 7}


def centre_path(client: Any, workspace: Any, profile_id: int) -> str:
    """The path of the person's member centre, from the API (the URL carries SIYU_PUBLIC_URL)."""
    answer = client.post(f"/api/loyalty/members/{profile_id}/centre-link", headers=workspace.bearer())
    assert answer.status_code == 201, answer.text
    return urlsplit(answer.json()["url"]).path


def member_with_everything(runtime: Any, client: Any, workspace: Any, name: str = "ann",
                           **programme: Any) -> dict[str, Any]:
    """A programme with a catalogue, a member at 银卡 with 1288 points from an order, three coupons
    (one usable, one used, one expired) and a live referral campaign; returns the ids."""
    gift = make_offer(runtime, workspace, name="积分换购·护手霜", stock=5, per_person_limit=5)
    welcome = make_offer(runtime, workspace, name="银卡升级礼", stock=100)
    tiers = [LADDER[0], {**LADDER[1], "reach_offer_id": welcome.id}, LADDER[2]]
    put = client.put("/api/loyalty/programme", headers=workspace.bearer(), json={
        "tiers": tiers, "catalogue": [{"offer_id": gift.id, "points": 1000}], **programme})
    assert put.status_code == 200, put.text
    member = person(client, workspace, None, name)
    sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={
        "userId": name, "event": "Order Completed", "properties": {"order_id": f"{name}-1", "revenue": 1288}})
    assert sent.status_code == 200, sent.text
    run_pass(runtime)
    usable = make_offer(runtime, workspace, name="满100减20", valid_days=30)
    used = make_offer(runtime, workspace, name="9折券", kind="percentage", amount_fen=None, percent_off=10)
    short = make_offer(runtime, workspace, name="限时5元券", amount_fen=500, valid_days=1)
    claim(runtime, workspace, short.id, member, f"{name}-short")
    clock.advance(timedelta(days=2))  # the 5-yuan coupon is past its date (not yet marked by the worker)
    claim(runtime, workspace, usable.id, member, f"{name}-usable")
    spent = claim(runtime, workspace, used.id, member, f"{name}-used")
    with write(runtime.engine) as conn:
        offers_service.redeem_claim(conn, workspace.id, spent.code, order=Order(f"{name}-2", 20000),
                                    idempotency_key=f"{name}-use", now=clock.now())
    invite = campaign(client, workspace, "referral", REFERRAL, name="老带新·双十二")
    return {"member": member, "gift": gift.id, "campaign": invite["id"], "campaign_token": invite["token"]}


def test_the_page_shows_tier_points_coupons_catalogue_and_invite(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    page = client.get(centre_path(client, workspace, made["member"]), headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = html.unescape(page.text)
    for shown in ("会员中心", "银卡", "再获得 3712 成长值升级为金卡", "积分 1.5 倍", "升级礼：银卡升级礼",
                  "可用积分", "1288", "获得", "+1288", "1288 积分将于", "积分兑换", "积分换购·护手霜", "1000 积分",
                  "可使用", "满100减20", "已使用", "9折券", "已过期", "限时5元券", "有效期至",
                  "邀请好友 · 老带新·双十二", "参加活动，获取我的邀请链接"):
        assert shown in text, shown
    assert 'aria-valuenow="7"' in page.text  # (1288 - 1000) / (5000 - 1000) = 7.2 %
    groups = {group: text.split(f'id="coupons-{group}"')[1].split("</div>", 1)[0]
              for group in ("claimed", "redeemed", "expired")}
    assert "满100减20" in groups["claimed"] and "9折券" in groups["redeemed"] and "限时5元券" in groups["expired"]
    assert 'id="tasks"' not in page.text  # no growth task running: no tasks section


def test_each_coupon_shows_its_face_value_as_money_in_both_languages(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    split = make_offer(runtime, workspace, name="瓜分券", amount_fen=1000, valid_days=30)
    claim(runtime, workspace, split.id, made["member"], "ann-share", amount_fen=733)  # a split share of its own
    path = centre_path(client, workspace, made["member"])

    def groups(lang: str) -> dict[str, list[str]]:
        text = html.unescape(client.get(path, params={"lang": lang}).text)
        return {group: [" ".join(item.split()) for item in
                        text.split(f'id="coupons-{group}"')[1].split("</ul>", 1)[0].split("<li>")[1:]]
                for group in ("claimed", "redeemed", "expired")}

    def item(found: dict[str, list[str]], group: str, name: str) -> str:
        return next(text for text in found[group] if f"<b>{name}</b>" in text)

    chinese = groups("zh")
    assert "面额 ¥7.33" in item(chinese, "claimed", "瓜分券")  # the claim's own value, not the offer's 10 yuan
    assert "面额 ¥20.00" in item(chinese, "claimed", "满100减20")  # the offer's
    assert "面额 ¥5.00" in item(chinese, "expired", "限时5元券")
    assert "面额" not in item(chinese, "redeemed", "9折券")  # a percentage is not an amount
    english = groups("en")
    assert "Value CN¥7.33" in item(english, "claimed", "瓜分券")
    assert "Value CN¥20.00" in item(english, "claimed", "满100减20")
    assert "Value" not in item(english, "redeemed", "9折券")


def test_money_reads_as_yuan_in_each_language() -> None:
    from siyu.loyalty.member_centre_text import money

    assert [money(fen, "zh") for fen in (733, 100, 123_456_789)] == ["¥7.33", "¥1.00", "¥1,234,567.89"]
    assert money(733, "en") == "CN¥7.33"  # a bare ¥ reads as the yen in English


def test_language_follows_lang_then_the_browser(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    made = member_with_everything(runtime, client, workspace)
    path = centre_path(client, workspace, made["member"])
    english = html.unescape(client.get(path, headers={"Accept-Language": "en-US,en;q=0.9"}).text)
    for shown in ("Member centre", "3712 more growth value to 金卡", "1.5× points", "Points available",
                  "Ready to use", "Used", "Expired", "Redeem points", "Join and get my invite link", "中文"):
        assert shown in english, shown
    forced = html.unescape(client.get(path, params={"lang": "zh"}, headers={"Accept-Language": "en"}).text)
    assert "会员中心" in forced and "English" in forced
    assert 'href="' + path + '?lang=en"' in forced  # the switch keeps the signed path


def test_a_tampered_or_foreign_token_is_a_friendly_404_and_an_old_one_a_410(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    member = person(client, workspace, None, "bo")
    path = centre_path(client, workspace, member)
    assert client.get(path).status_code == 200
    token = path.removeprefix("/m/")
    for broken in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense", token[:10], "x" * 300):
        answer = client.get(f"/m/{broken}", params={"lang": "en"})
        assert answer.status_code == 404 and "Invalid link" in answer.text, broken
        assert client.post(f"/m/{broken}/redeem", data={"offer_id": "1", "key": "k" * 12}).status_code == 404
    forged = token_for("another-secret", workspace.id, member, NOW + timedelta(days=30))
    assert client.get(f"/m/{forged}").status_code == 404
    assert "链接无效" in client.get(f"/m/{forged}", headers={"Accept-Language": "zh-CN"}).text
    clock.advance(timedelta(days=30))  # the default lifetime
    expired = client.get(path, params={"lang": "en"})
    assert expired.status_code == 410 and "Link expired" in expired.text
    assert client.get(path, params={"lang": "zh"}).status_code == 410
    assert client.post(f"{path}/invite").status_code == 410 and client.get(f"{path}/poster.png").status_code == 410
    fresh = centre_path(client, workspace, member)  # a new link works again
    assert client.get(fresh).status_code == 200


def test_the_lifetime_comes_from_the_programme(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    assert client.put("/api/loyalty/programme", headers=workspace.bearer(),
                      json={"tiers": LADDER, "centre_link_days": 7}).status_code == 200
    member = person(client, workspace, None, "cy")
    answer = client.post(f"/api/loyalty/members/{member}/centre-link", headers=workspace.bearer()).json()
    assert answer["expires_at"].startswith((NOW + timedelta(days=7)).date().isoformat())
    clock.advance(timedelta(days=6, hours=23))
    assert client.get(urlsplit(answer["url"]).path).status_code == 200
    clock.advance(timedelta(hours=1))
    assert client.get(urlsplit(answer["url"]).path).status_code == 410


def test_token_rules_are_pure() -> None:
    token = read_token("s", token_for("s", 3, 9, NOW))
    assert token == CentreToken(3, 9, NOW)
    assert state_of(token, NOW - timedelta(seconds=1)) is TokenState.VALID
    assert state_of(token, NOW) is TokenState.EXPIRED
    assert state_of(read_token("other", token_for("s", 3, 9, NOW)), NOW) is TokenState.INVALID
    assert read_token("s", token_for("s", 3, 9, NOW)[::-1]) is None


def test_a_merged_away_person_s_link_opens_the_survivor_s_centre(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    assert client.put("/api/loyalty/programme", headers=workspace.bearer(), json={"tiers": LADDER}).status_code == 200
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "lina", "traits": {"name": "lina"}})
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"anonymousId": "web-9"})
    lookup = client.get("/api/profiles/lookup", params={"type": "anonymous_id", "value": "web-9"},
                        headers=workspace.bearer()).json()
    browser = lookup["id"]
    old_path = centre_path(client, workspace, browser)  # issued before the merge
    adjusted = client.post(f"/api/loyalty/members/{browser}/adjust", headers=workspace.bearer(),
                           json={"points": 77, "note": "browser", "idempotency_key": "m1"})
    assert adjusted.status_code == 201, adjusted.text
    client.post("/v1/identify", auth=(workspace.write_key, ""), json={"userId": "lina", "anonymousId": "web-9"})
    survivor = client.get("/api/profiles/lookup", params={"type": "user_id", "value": "lina"},
                          headers=workspace.bearer()).json()["id"]
    assert survivor != browser
    page = client.get(old_path)
    assert page.status_code == 200 and 'id="balance">77<' in page.text  # the points followed the merge
    new = client.post(f"/api/loyalty/members/{browser}/centre-link", headers=workspace.bearer()).json()
    assert new["profile_id"] == survivor


def test_the_link_api_and_cli_and_another_workspace(runtime, client, workspace, other_workspace) -> None:  # noqa: ANN001
    import siyu.loyalty.cli  # noqa: F401 - registers `siyu loyalty`
    from siyu.cli import app

    clock.freeze(NOW)
    member = person(client, workspace, None, "dee")
    env = {"SIYU_DATABASE_URL": runtime.config.database_url, "SIYU_DATA_DIR": str(runtime.config.data_dir),
           "SIYU_SECRET": "test-secret"}
    printed = CliRunner().invoke(app, ["loyalty", "link", "--workspace", workspace.name, str(member)], env=env)
    assert printed.exit_code == 0, printed.output
    url = printed.output.strip()
    assert url.startswith(f"{runtime.config.public_url}/m/")
    assert client.get(urlsplit(url).path).status_code == 200  # no programme yet: still a page
    missing = CliRunner().invoke(app, ["loyalty", "link", "--workspace", workspace.name, "999999999"], env=env)
    assert missing.exit_code == 2 and "No profile" in missing.output
    stranger = client.post(f"/api/loyalty/members/{member}/centre-link", headers=other_workspace.bearer())
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "profiles.not_found"
    assert client.post(f"/api/loyalty/members/{member}/centre-link").status_code == 401
    with write(runtime.engine) as conn:  # the link spends points: an analyst (profiles:read only) can't make one
        _, analyst = workspace_store.create_key(conn, workspace.id, KeyKind.SECRET, role=Role.ANALYST)
    refused = client.post(f"/api/loyalty/members/{member}/centre-link", headers={"Authorization": f"Bearer {analyst}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"].startswith("auth.")


def test_growth_tasks_show_with_the_person_s_progress(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(NOW)
    auth = workspace.bearer()
    assert client.put("/api/loyalty/programme", headers=auth, json={"tiers": LADDER}).status_code == 200
    for key, zh, en, event, target in (("salon", "参加沙龙", "Attend a salon", "Salon Attended", 2),
                                       ("review", "写一条评价", "Write a review", "Review Posted", 1)):
        made = client.post("/api/loyalty/tasks", headers=auth, json={
            "key": key, "name_zh": zh, "name_en": en, "kind": "custom", "event": event, "target": target,
            "points": 20})
        assert made.status_code == 201, made.text
    member = person(client, workspace, None, "gus")
    for event in ("Salon Attended", "Review Posted"):
        sent = client.post("/v1/track", auth=(workspace.write_key, ""), json={"userId": "gus", "event": event})
        assert sent.status_code == 200, sent.text
    run_pass(runtime)  # the tasks' worker step counts the events
    path = centre_path(client, workspace, member)
    chinese = html.unescape(client.get(path, params={"lang": "zh"}).text)
    section = chinese.split('id="tasks"')[1].split("</section>")[0]
    salon, review = section.split("参加沙龙")[1].split("写一条评价")
    assert "成长任务" in section and "1 / 2" in salon and "已完成" not in salon
    assert "✓ 已完成" in review and "+20 积分" in review
    english = html.unescape(client.get(path, params={"lang": "en"}).text)
    assert "Growth tasks" in english and "Attend a salon" in english and "✓ Done" in english
