"""Channel codes end to end: created against the fake WeChat / WeCom APIs through the API, then
scanned, followed and added through real signed callbacks; figures, routing pushes and downloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu import clock
from siyu.db.engine import read
from siyu.messaging import store as messaging_store
from tests.staff.platforms import APP, CORP, platforms

WELCOME = {"text": "欢迎来到完子心选！回复 1 领取新人礼"}


def _live_journey(client, keys) -> int:  # noqa: ANN001
    created = client.post("/api/journeys", headers=keys.bearer(), json={"name": "包裹卡新客", "definition": {
        "trigger": {"api": True}, "steps": [{"id": "wait", "wait": "3d"}]}})
    assert created.status_code == 201, created.text
    journey_id = created.json()["id"]
    assert client.post(f"/api/journeys/{journey_id}/publish", headers=keys.bearer()).status_code == 200
    return journey_id


def test_an_official_account_code_attributes_tags_enters_and_greets(runtime, client, workspace
                                                                    ) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    with platforms(runtime, client, workspace) as fake:
        journey_id = _live_journey(client, workspace)
        body = {"kind": "wechat_qr", "key": "tmall_card", "name": "天猫包裹卡", "caption": "扫码关注领红包",
                "expire_seconds": 7 * 86400, "welcome": WELCOME, "tags": ["渠道:天猫包裹卡"], "journey_id": journey_id}
        created = client.post("/api/channel-codes", json=body, headers=workspace.bearer())
        assert created.status_code == 201, created.text
        code = created.json()
        assert code["ready"] and code["qr_url"].startswith("http://weixin.qq.com/q/")
        assert code["expires_at"].startswith("2026-12-07")
        sent = fake.wechat.qrcodes[code["ticket"]]
        assert sent["action_name"] == "QR_STR_SCENE" and sent["action_info"]["scene"]["scene_str"] == "tmall_card"
        assert sent["expire_seconds"] == 7 * 86400
        again = client.post("/api/channel-codes", json=body, headers=workspace.bearer())
        assert again.status_code == 200 and again.json()["id"] == code["id"] and len(fake.wechat.qrcodes) == 1

        answer = fake.wechat_push.push(fake.wechat_push.follow("oTmall1", scene="tmall_card"))
        assert fake.wechat_push.reply(answer)["Content"] == WELCOME["text"]
        person = fake.profile_of(client, workspace, f"wechat_openid:{APP}", "oTmall1")
        profile = client.get(f"/api/profiles/{person}", headers=workspace.bearer()).json()
        assert profile["traits"]["first_channel_code"] == "tmall_card"
        assert "渠道:天猫包裹卡" in [tag["name"] for tag in profile["tags"]]
        entries = client.get(f"/api/journeys/{journey_id}/entries", headers=workspace.bearer()).json()
        assert [e["profile_id"] for e in entries] == [person]

        clock.advance(timedelta(hours=2))
        fake.wechat_push.push(fake.wechat_push.event("oTmall1", "SCAN", EventKey="tmall_card", Ticket=code["ticket"]))
        fake.wechat_push.resend()  # WeChat's retry counts once
        stats = client.get(f"/api/channel-codes/{code['id']}/stats", headers=workspace.bearer()).json()
        assert stats["days"] == [{"day": "2026-11-30", "scans": 2, "follows": 1, "adds": 0, "new": 1,
                                  "returning": 1}]
        # the journey's entry rule (once by default) decides: the scan enters nobody a second time
        assert len(client.get(f"/api/journeys/{journey_id}/entries", headers=workspace.bearer()).json()) == 1

        clock.advance(timedelta(days=8))  # expired: arrivals still counted, nobody greeted
        late = fake.wechat_push.push(fake.wechat_push.follow("oTmall2", scene="tmall_card"))
        assert fake.wechat_push.reply(late).get("Content") != WELCOME["text"]
        assert client.get(f"/api/channel-codes/{code['id']}", headers=workspace.bearer()).json()["expired"] is True
        kept = client.get(f"/api/channel-codes/{code['id']}/stats", params={"kept_after": 7},
                          headers=workspace.bearer()).json()["follow_through"]
        assert kept == {"days": 7, "arrived": 1, "kept": 1}


def test_downloads_png_svg_and_a_printable_card(runtime, client, workspace) -> None:  # noqa: ANN001
    with platforms(runtime, client, workspace):
        code = client.post("/api/channel-codes", headers=workspace.bearer(), json={
            "kind": "wechat_qr", "key": "store_sh", "name": "上海门店", "caption": "扫码关注"}).json()
        assert code["expires_at"] is None  # permanent
        png = client.get(f"/api/channel-codes/{code['id']}/qr.png", headers=workspace.bearer())
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        svg = client.get(f"/api/channel-codes/{code['id']}/qr.svg", headers=workspace.bearer())
        assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
        card = client.get(f"/api/channel-codes/{code['id']}/card.png", headers=workspace.bearer())
        from io import BytesIO

        from PIL import Image

        assert Image.open(BytesIO(card.content)).size == (1240, 1748)


def test_a_wecom_code_routes_round_robin_and_greets_from_the_member(runtime, client, workspace
                                                                    ) -> None:  # noqa: ANN001
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    with platforms(runtime, client, workspace) as fake:
        routing = {"strategy": "round_robin", "staff": [{"userid": "wanzi_a", "hours": ["09:00", "21:00"]},
                                                        {"userid": "wanzi_b", "daily_cap": 1}],
                   "fallback": ["night_owl"]}
        created = client.post("/api/channel-codes", headers=workspace.bearer(), json={
            "kind": "wecom_contact", "key": "xhs_post", "name": "小红书笔记", "routing": routing, "welcome": WELCOME,
            "tags": ["渠道:小红书"]})
        assert created.status_code == 201, created.text
        code = created.json()
        way = fake.wecom.contact_ways[code["config_id"]]
        assert way["state"] == "xhs_post" and way["user"] == ["wanzi_a"] and code["pushed_users"] == ["wanzi_a"]

        person = fake.customer(client, workspace, "wanzi_a", "wmXhs1", state="xhs_post")
        with read(runtime.engine) as conn:
            queued = messaging_store.of_profile(conn, workspace.id, person)
        assert [(m.channel.value, m.payload["text"]["content"]) for m in queued] == [("wecom", WELCOME["text"])]
        assert queued[0].payload["welcome_code"]  # sent with send_welcome_msg and the push's WelcomeCode
        assert client.get(f"/api/profiles/{person}/owners", headers=workspace.bearer()).json()[0]["state"] == "xhs_post"

        assert client.post("/api/channel-codes/sync", headers=workspace.bearer()).json() == {"pushed": 1}
        assert fake.wecom.contact_ways[code["config_id"]]["user"] == ["wanzi_b"]
        fake.customer(client, workspace, "wanzi_b", "wmXhs2", state="xhs_post")
        client.post("/api/channel-codes/sync", headers=workspace.bearer())
        assert fake.wecom.contact_ways[code["config_id"]]["user"] == ["wanzi_a"]  # b is full for today

        clock.advance(timedelta(hours=12))  # 22:00: a is off, b full → the fallback
        routed = client.get(f"/api/channel-codes/{code['id']}", headers=workspace.bearer()).json()["routing_now"]
        assert routed == {"users": ["night_owl"], "fallback": True,
                          "excluded": {"wanzi_a": "routing.off_hours", "wanzi_b": "routing.full"}}
        client.post("/api/channel-codes/sync", headers=workspace.bearer())
        assert fake.wecom.contact_ways[code["config_id"]]["user"] == ["night_owl"]
        stats = client.get(f"/api/channel-codes/{code['id']}/stats", headers=workspace.bearer()).json()
        assert stats["days"][0]["adds"] == 2 and stats["days"][0]["new"] == 2
        assert fake.wecom_push.receive_id == CORP

        # PATCH: the same edit as the console's form and `siyu codes update` (siyu.acquisition.channel_codes_edit)
        until = "2026-12-31T23:59:00+08:00"
        edited = client.patch(f"/api/channel-codes/{code['id']}", headers=workspace.bearer(),
                              json={"expires_at": until, "tags": ["渠道:小红书", "冬季"]})
        assert edited.status_code == 200, edited.text
        assert edited.json()["tags"] == ["渠道:小红书", "冬季"]
        assert datetime.fromisoformat(edited.json()["expires_at"]) == datetime.fromisoformat(until)
        never = client.patch(f"/api/channel-codes/{code['id']}", headers=workspace.bearer(), json={"expires_at": None})
        assert never.json()["expires_at"] is None
        missing = client.patch(f"/api/channel-codes/{code['id']}", headers=workspace.bearer(),
                               json={"journey_id": 99999})
        assert missing.status_code == 404, missing.text


def test_bad_codes_are_refused_with_stable_codes(runtime, client, workspace, other_workspace
                                                 ) -> None:  # noqa: ANN001
    with platforms(runtime, client, workspace):
        cases = [({"kind": "wechat_qr", "key": "has space", "name": "x"}, 422, "channel_codes.invalid"),
                 ({"kind": "wechat_qr", "key": "k1", "name": "x", "expire_seconds": 2_592_001}, 422,
                  "channel_codes.invalid"),
                 ({"kind": "wecom_contact", "key": "k2", "name": "x"}, 422, "channel_codes.invalid"),
                 ({"kind": "wecom_contact", "key": "k3", "name": "x",
                   "routing": {"strategy": "random", "staff": [{"userid": "a"}]}}, 422, "channel_codes.invalid")]
        for body, status, code in cases:
            answer = client.post("/api/channel-codes", json=body, headers=workspace.bearer())
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
        made = client.post("/api/channel-codes", headers=workspace.bearer(),
                           json={"kind": "wechat_qr", "key": "mine", "name": "Mine"}).json()
        taken = client.post("/api/channel-codes", headers=workspace.bearer(),
                            json={"kind": "wechat_qr", "key": "mine", "name": "Other name"})
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "channel_codes.exists"
    for path in (f"/api/channel-codes/{made['id']}", f"/api/channel-codes/{made['id']}/stats",
                 f"/api/channel-codes/{made['id']}/qr.png"):
        answer = client.get(path, headers=other_workspace.bearer())
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "channel_codes.not_found"
    unconfigured = client.post("/api/channel-codes", headers=other_workspace.bearer(),
                               json={"kind": "wechat_qr", "key": "nope", "name": "x"})
    assert unconfigured.status_code == 409 and unconfigured.json()["error"]["code"] == "channel_codes.not_configured"
