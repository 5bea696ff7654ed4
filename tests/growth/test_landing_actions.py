"""The campaign page's buttons for a visitor known through WeChat, on both databases, against the fake
WeChat server: a sharer joins and gets a share link, a friend opens it, authorises and helps (cuts,
joins the group, claims a share, accepts the invitation); a retried POST does nothing twice; refusals
(already helped, not a new customer, out of stock, ended) are shown in zh and en; a member leaves
their group from the page."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from siyu import clock
from siyu.db.engine import read
from siyu.growth.landing_store import count_actions
from tests.growth.campaign_helpers import START, campaign, rewards
from tests.growth.test_landing_oauth import APPID, ASSIST, WECHAT_UA, authorise, wechat  # noqa: F401 - the fixture


def _form(page_html: str, action: str) -> str:
    found = re.search(rf'<form class="act {action}"[^>]*><input type="hidden" name="form" value="([^"]+)"', page_html)
    assert found is not None, f"no {action} button on the page"
    return found.group(1)


def _press(page: TestClient, token: str, form: str, lang: str = "zh") -> str:
    answer = page.post(f"/c/{token}/act", data={"form": form, "lang": lang}, headers={"User-Agent": WECHAT_UA})
    assert answer.status_code == 200, answer.text
    return answer.text


def _result(page_html: str) -> str:
    found = re.search(r'<section id="result" class="result (ok|error)" data-code="([^"]*)">', page_html)
    assert found is not None, "no result on the page"
    return found.group(2)


def _share_link(page_html: str) -> str:
    found = re.search(r'id="share-link" href="http://testserver(/c/[^"]+)"', page_html)
    assert found is not None
    return found.group(1).replace("&amp;", "&")


def _sharer(app, wechat, token: str, openid: str):  # noqa: ANN001, ANN202, F811
    """A participant who joined from the page: their client (cookie) and share link."""
    page = TestClient(app)
    shown = authorise(page, wechat, f"/c/{token}", openid)
    joined = _press(page, token, _form(shown.text, "join"))
    assert _result(joined) == "joined" and "action-join" not in joined
    return page, _share_link(joined)


def test_a_friend_opens_the_share_link_authorises_and_helps_once(app, runtime, client, workspace,  # noqa: ANN001
                                                                  wechat) -> None:  # noqa: F811
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    sharer, link = _sharer(app, wechat, found["token"], "oSharer")
    with sharer, TestClient(app) as friend:
        shown = authorise(friend, wechat, link, "oFriend")
        assert "为好友助力" in shown.text
        other_tab = friend.get(link, headers={"User-Agent": WECHAT_UA}).text  # the link open twice
        form = _form(shown.text, "help")
        helped = _press(friend, found["token"], form)
        assert _result(helped) == "helped" and "助力成功" in helped
        assert "action-help" not in helped  # once helped, the button is gone
        again = _press(friend, found["token"], form)  # the same press resent: the first answer, nothing more
        assert _result(again) == "helped"
        second = _press(friend, found["token"], _form(other_tab, "help"), lang="en")  # a second, new press
        assert _result(second) == "already" and "You have taken part already" in second
        mine = sharer.get(f"/c/{found['token']}", params={"lang": "zh"}, headers={"User-Agent": WECHAT_UA})
        assert "已有 1 位好友助力，还差 1 位" in mine.text
    credits = client.get(f"/api/campaigns/{found['id']}/credits", headers=workspace.bearer()).json()
    assert [c["status"] for c in credits] == ["credited"]
    with read(runtime.engine) as conn:
        assert count_actions(conn, workspace.id, found["id"]) == 3  # join, help, the second press


def test_a_form_of_another_visitor_or_campaign_is_refused(app, client, workspace, wechat) -> None:  # noqa: ANN001, F811
    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    other = campaign(client, workspace, "assist", ASSIST, name="另一个")
    with TestClient(app) as alice, TestClient(app) as bob:
        form = _form(authorise(alice, wechat, f"/c/{found['token']}", "oAlice").text, "join")
        authorise(bob, wechat, f"/c/{found['token']}", "oBob")
        assert bob.post(f"/c/{found['token']}/act", data={"form": form}).status_code == 403
        assert alice.post(f"/c/{other['token']}/act", data={"form": form}).status_code == 403
        clock.advance(timedelta(hours=13))
        assert alice.post(f"/c/{found['token']}/act", data={"form": form}).status_code == 403  # stale


def test_an_old_customer_is_not_eligible_where_only_new_ones_may_help(app, runtime, client, workspace,  # noqa: ANN001
                                                                       wechat) -> None:  # noqa: F811
    clock.freeze(START - timedelta(days=30))
    old = client.post("/v1/identify", auth=(workspace.write_key, ""), json={
        "userId": "member-8812", "timestamp": clock.now().isoformat(),
        "context": {"externalIds": [{"type": f"wechat_openid:{APPID}", "id": "oOld"}]}})
    assert old.status_code == 200
    from siyu.ingest.resolver import resolve_queued

    resolve_queued(runtime.engine)  # the old customer is in the graph before the campaign
    clock.freeze(START)
    found = campaign(client, workspace, "assist", {**ASSIST, "helper_eligibility": "new_only"})
    sharer, link = _sharer(app, wechat, found["token"], "oNewSharer")
    with sharer, TestClient(app) as friend:
        shown = authorise(friend, wechat, link, "oOld")
        refused = _press(friend, found["token"], _form(shown.text, "help"))
        assert _result(refused) == "not_new_customer" and "仅限新客户" in refused


def test_cut_a_bargain_claim_a_share_and_accept_an_invitation(app, client, workspace, wechat) -> None:  # noqa: ANN001, F811
    clock.freeze(START)
    cases = [
        ("bargain", {"start_price_fen": 10_000, "target_price_fen": 100, "expected_helpers": 3, "deadline_hours": 48},
         "help", "helped", "帮好友砍一刀"),
        ("split_coupon", {"pool_fen": 1000, "claimers": 3, "minimum_fen": 50}, "claim", "claimed", "领取我的一份"),
        ("referral", {"inviter_reward": {"cost_fen": 100}, "qualifying": "first_order", "attribution_days": 7},
         "invite", "pending", "接受好友邀请"),
    ]
    for index, (kind, rules, action, outcome, label) in enumerate(cases):
        found = campaign(client, workspace, kind, rules, name=f"活动{index}")
        sharer, link = _sharer(app, wechat, found["token"], f"oSharer{index}")
        with sharer, TestClient(app) as friend:
            shown = authorise(friend, wechat, link, f"oFriend{index}")
            assert label in shown.text
            assert _result(_press(friend, found["token"], _form(shown.text, action))) == outcome, kind


def test_join_a_group_leave_it_from_the_page_and_out_of_stock_is_said(app, client, workspace, wechat) -> None:  # noqa: ANN001, F811
    clock.freeze(START)
    offer = client.post("/api/offers", headers=workspace.bearer(), json={
        "name": "拼团券", "kind": "fixed_amount", "stock": 1, "per_person_limit": 1, "amount_fen": 1000})
    found = campaign(client, workspace, "group_buy", {
        "group_size": 3, "time_limit_hours": 24, "list_price_fen": 9900, "leader_price_fen": 4900,
        "member_price_fen": 5900, "member_reward": {"offer_id": offer.json()["id"], "cost_fen": 0}})
    sharer, link = _sharer(app, wechat, found["token"], "oLeader")
    with sharer, TestClient(app) as amy, TestClient(app) as ben:
        shown = authorise(amy, wechat, link, "oAmy")
        joined = _press(amy, found["token"], _form(shown.text, "join_group"), lang="en")
        assert _result(joined) == "joined_group" and "Leave the group" in joined
        left = _press(amy, found["token"], _form(joined, "leave"), lang="en")
        assert _result(left) == "left" and "your place is free" in left
        assert "action-leave" not in left
        shown = authorise(ben, wechat, link, "oBen")
        took = _press(ben, found["token"], _form(shown.text, "join_group"))
        assert _result(took) == "joined_group"  # the freed unit of the one-coupon stock
    assert sorted(r["status"] for r in rewards(client, workspace, found["id"])) == ["granted", "voided"]
    second = campaign(client, workspace, "group_buy", {
        "group_size": 3, "time_limit_hours": 24, "list_price_fen": 9900, "leader_price_fen": 4900,
        "member_price_fen": 5900, "member_reward": {"offer_id": offer.json()["id"], "cost_fen": 0}}, name="第二团")
    sharer, link = _sharer(app, wechat, second["token"], "oLeader2")
    with sharer, TestClient(app) as cat:
        shown = authorise(cat, wechat, link, "oCat")
        empty = _press(cat, second["token"], _form(shown.text, "join_group"), lang="en")
        assert _result(empty) == "out_of_stock" and "Out of stock" in empty


def test_check_in_from_the_page_and_an_ended_campaign_refuses(app, client, workspace, wechat) -> None:  # noqa: ANN001, F811
    clock.freeze(START)
    found = campaign(client, workspace, "check_in", {"streak_rewards": {"3": {"cost_fen": 10}}, "makeup_cards": 1})
    with TestClient(app) as page:
        shown = authorise(page, wechat, f"/c/{found['token']}", "oDaily")
        form = _form(shown.text, "check_in")
        first = _press(page, found["token"], form)
        assert _result(first) == "checked_in" and "已连续签到 1 天" in first
        assert _result(_press(page, found["token"], form)) == "checked_in"  # the resend
        assert _result(_press(page, found["token"], _form(first, "check_in"))) == "already_checked_in"
        later = page.get(f"/c/{found['token']}", headers={"User-Agent": WECHAT_UA}).text
        ended = client.post(f"/api/campaigns/{found['id']}/end", headers=workspace.bearer())
        assert ended.status_code == 200
        refused = _press(page, found["token"], _form(later, "check_in"), lang="en")
        assert _result(refused) == "not_live" and "not running now" in refused
        after = page.get(f"/c/{found['token']}", headers={"User-Agent": WECHAT_UA}).text
        assert "<form" not in after


def test_a_joined_visitor_gets_their_own_poster_and_nobody_else_does(app, client, workspace, wechat) -> None:  # noqa: ANN001, F811
    import io
    import json

    from PIL import Image

    from tests.acquisition.test_posters import LAYOUT, image_bytes
    from tests.growth.campaign_helpers import DESCRIPTION, OPERATOR

    clock.freeze(START)
    draft = campaign(client, workspace, "assist", ASSIST, launch=False)
    template = client.post("/api/posters", headers=workspace.bearer(),
                           data={"name": "助力海报", "layout": json.dumps(LAYOUT),
                                 "target_url": f"http://testserver/c/{draft['token']}"},
                           files={"background": ("bg.png", image_bytes(), "image/png")})
    assert template.status_code == 201, template.text
    body = {"kind": "assist", "name": "poster", "rules": {"description": DESCRIPTION, **ASSIST,
                                                          "poster_template_id": template.json()["id"]},
            "operator": OPERATOR, "starts_at": draft["starts_at"], "ends_at": draft["ends_at"]}
    assert client.put(f"/api/campaigns/{draft['id']}", json=body, headers=workspace.bearer()).status_code == 200
    assert client.post(f"/api/campaigns/{draft['id']}/launch", headers=workspace.bearer()).status_code == 200
    with TestClient(app) as page:
        shown = authorise(page, wechat, f"/c/{draft['token']}", "oPoster")
        assert page.get(f"/c/{draft['token']}/poster.png").status_code == 404  # not joined yet
        joined = _press(page, draft["token"], _form(shown.text, "join"))
        assert 'id="poster-link" href="/c/' in joined
        png = page.get(f"/c/{draft['token']}/poster.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size[0] > 0
    assert client.get(f"/c/{draft['token']}/poster.png").status_code == 404  # no visitor cookie


def test_one_press_sent_four_times_at_once_acts_once(app, client, workspace, wechat) -> None:  # noqa: ANN001, F811
    import threading

    clock.freeze(START)
    found = campaign(client, workspace, "assist", ASSIST)
    sharer, link = _sharer(app, wechat, found["token"], "oRaceSharer")
    sharer.close()
    with TestClient(app) as friend:
        form = _form(authorise(friend, wechat, link, "oRaceFriend").text, "help")
        cookies = dict(friend.cookies.items())
    barrier = threading.Barrier(4)
    answers: list[str] = []

    def press() -> None:
        with TestClient(app, cookies=cookies) as own:
            barrier.wait()
            answers.append(_result(_press(own, found["token"], form)))

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["helped"] * 4
    credits = client.get(f"/api/campaigns/{found['id']}/credits", headers=workspace.bearer()).json()
    assert [c["status"] for c in credits] == ["credited"]
