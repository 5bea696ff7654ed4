"""Keyword and menu-click replies: which rule answers (pure), and end to end on both databases — the
inbound message is answered with the passive reply of the right rule and variant, match counts add up,
rules are managed over the API and the CLI, bad rules are refused with stable codes."""

from __future__ import annotations

import json
import time as timer
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from siyu import clock
from siyu.acquisition.replies import RepliesError, Rule, Variant, check_patterns, first_match
from siyu.runtime import Runtime
from tests.callbacks.test_endpoints import NOON, TOKEN, configure, platform
from tests.profiles.test_cli import siyu

APPID = "wx1f2e3d4c5b6a7980"


def text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def rule(id_: int, match: str, *patterns: str, priority: int = 100, enabled: bool = True) -> Rule:
    return Rule(id=id_, name=f"r{id_}", trigger="keyword", match=match, patterns=patterns, priority=priority,
                enabled=enabled, reply=text(f"r{id_}"))


@pytest.mark.parametrize(("message", "answered_by"), [
    ("新人", 1), ("  新人 ", 1), ("我是新人", 2), ("NEW", 3), ("order 12345", 4), ("订单号 9", None), ("", None),
])
def test_the_lowest_priority_rule_that_matches_answers(message: str, answered_by: int | None) -> None:
    rules = [rule(2, "contains", "新人", priority=20), rule(1, "exact", "新人", priority=10),
             rule(3, "exact", "new"), rule(4, "regex", r"^order \d{5}$"), rule(5, "contains", "订单", enabled=False)]
    found = first_match(rules, message)
    assert (found.id if found else None) == answered_by


def test_time_of_day_variants_cover_their_window_in_the_workspace_time_zone() -> None:
    night = Variant(time(22, 0), time(8, 0), text("night"))
    lunch = Variant(time(12, 0), time(13, 30), text("lunch"))
    answering = Rule(1, "r", "keyword", "exact", ("hi",), 1, True, text("day"), (night, lunch))
    shanghai = "Asia/Shanghai"
    for utc_hour, expected in ((13, "day"), (23, "night"), (0, "day"), (4, "lunch"), (5, "lunch"), (6, "day"),
                               (14, "night")):
        now = datetime(2026, 11, 11, utc_hour, 0, tzinfo=UTC)
        assert answering.reply_at(now, shanghai)["text"]["content"] == expected, utc_hour
    assert answering.reply_at(datetime(2026, 11, 11, 0, 0, tzinfo=UTC), "UTC")["text"]["content"] == "night"


def test_a_catastrophic_regex_times_out_instead_of_hanging() -> None:
    slow = rule(1, "regex", r"^(a+)+$")
    started = timer.monotonic()
    assert slow.matches("a" * 2000 + "b") is False
    assert timer.monotonic() - started < 1.0
    with pytest.raises(RepliesError):
        check_patterns("regex", ["(unclosed"])
    with pytest.raises(RepliesError):
        check_patterns("regex", ["x" * 201])


def test_inbound_messages_and_menu_clicks_are_answered_by_their_rules(runtime: Runtime, client: Any,
                                                                      workspace: Any) -> None:
    configure(runtime, workspace.id, wechat={"appid": APPID, "token": TOKEN})
    clock.freeze(NOON)  # 12:00 in Shanghai
    bearer = workspace.bearer()
    gift = client.post("/api/replies/rules", headers=bearer, json={
        "name": "新人礼", "match": "contains", "patterns": ["新人", "new"], "priority": 10,
        "reply": text("{{ profile.traits.name | default('亲') }}，回复「领取」拿新人礼"),
        "variants": [{"from": "22:00", "to": "08:00", "reply": text("夜深了，客服明早 8 点回复你")}]})
    assert gift.status_code == 201, gift.text
    exact = client.post("/api/replies/rules", headers=bearer, json={
        "name": "领取", "patterns": "领取", "priority": 20,
        "reply": {"msgtype": "news", "news": {"articles": [{"title": "新人礼包", "description": "点击领取",
                                                            "url": "https://brand.cn/gift",
                                                            "picurl": "https://brand.cn/g.png"}]}}})
    menu = client.post("/api/replies/rules", headers=bearer, json={
        "name": "菜单·门店", "trigger": "menu", "patterns": ["V1001_STORES"],
        "reply": {"msgtype": "image", "image": {"media_id": "MEDIA_STORES"}}})
    assert exact.status_code == menu.status_code == 201
    oa = platform(client, workspace.id)
    assert oa.reply(oa.push(oa.text("oA", "我是新人")))["Content"] == "亲，回复「领取」拿新人礼"
    news = oa.reply(oa.push(oa.text("oA", "领取")))
    assert (news["MsgType"], news["Articles.Title"], news["Articles.Url"]) == ("news", "新人礼包",
                                                                                "https://brand.cn/gift")
    assert oa.reply(oa.push(oa.event("oA", "CLICK", EventKey="V1001_STORES")))["Image.MediaId"] == "MEDIA_STORES"
    assert oa.push(oa.text("oA", "随便说说")).text == "success"  # no rule: no reply
    oa.resend(0)  # a retry of the first message: not answered, not counted again
    clock.advance(timedelta(hours=11))  # 23:00 in Shanghai
    assert oa.reply(oa.push(oa.text("oB", "new")))["Content"] == "夜深了，客服明早 8 点回复你"
    listed = client.get("/api/replies/rules", headers=bearer).json()["items"]
    assert [(r["name"], r["match_count"]) for r in listed] == [("新人礼", 2), ("领取", 1), ("菜单·门店", 1)]
    assert listed[0]["last_matched_at"].startswith("2026-11-11T15:00:00")
    # switched off, the rule answers no more; a lower one that matches takes over
    client.patch(f"/api/replies/rules/{gift.json()['id']}", headers=bearer, json={"enabled": False})
    client.patch(f"/api/replies/rules/{exact.json()['id']}", headers=bearer,
                 json={"match": "contains", "patterns": ["新人", "领取"]})
    assert oa.reply(oa.push(oa.text("oC", "新人")))["MsgType"] == "news"


def test_rules_are_checked_scoped_to_their_workspace_and_deleted(client: Any, workspace: Any,
                                                                  other_workspace: Any) -> None:
    bearer = workspace.bearer()
    good = {"name": "hi", "patterns": ["hi"], "reply": text("hello")}
    cases = [
        ({**good, "match": "fuzzy"}, 422, "replies.invalid"),
        ({**good, "patterns": []}, 422, "replies.invalid"),
        ({**good, "match": "regex", "patterns": ["(a"]}, 422, "replies.invalid"),
        ({**good, "trigger": "voice"}, 422, "replies.invalid"),
        ({**good, "priority": "high"}, 422, "replies.invalid"),
        ({**good, "reply": {"msgtype": "voice", "voice": {"media_id": "m"}}}, 422, "replies.invalid"),
        ({**good, "reply": text("{% for %}")}, 422, "messaging.invalid_template"),
        ({**good, "variants": [{"from": "25:00", "to": "08:00", "reply": text("x")}]}, 422, "replies.invalid"),
        ({**good, "name": ""}, 422, "replies.invalid"),
    ]
    for body, status, code in cases:
        answer = client.post("/api/replies/rules", headers=bearer, json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (body, answer.text)
    created = client.post("/api/replies/rules", headers=bearer, json=good).json()
    again = client.post("/api/replies/rules", headers=bearer, json=good)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "replies.conflict")
    other = other_workspace.bearer()
    assert client.get(f"/api/replies/rules/{created['id']}", headers=other).status_code == 404
    assert client.patch(f"/api/replies/rules/{created['id']}", headers=other, json={"priority": 1}).status_code == 404
    assert client.delete(f"/api/replies/rules/{created['id']}", headers=other).status_code == 404
    assert client.get("/api/replies/rules", headers=other).json() == {"items": []}
    assert client.delete(f"/api/replies/rules/{created['id']}", headers=bearer).status_code == 204
    assert client.get(f"/api/replies/rules/{created['id']}", headers=bearer).status_code == 404


def test_the_cli_manages_rules_and_welcome_messages(database_url: str, workspace: Any, tmp_path: Path) -> None:
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text("name: 门店\ntrigger: keyword\nmatch: contains\npatterns: [门店, store]\n"
                         "reply: {msgtype: text, text: {content: 最近的门店在这里}}\n", encoding="utf-8")
    added = siyu(database_url, "replies", "add", "--workspace", workspace.name, str(rule_file), "--json")
    assert added.returncode == 0, added.stderr
    rule_id = json.loads(added.stdout)["id"]
    off = siyu(database_url, "replies", "enable", "--workspace", workspace.name, str(rule_id), "--off")
    assert off.returncode == 0 and "off" in off.stdout
    listed = json.loads(siyu(database_url, "replies", "list", "--workspace", workspace.name, "--json").stdout)
    assert [(r["name"], r["patterns"], r["enabled"]) for r in listed] == [("门店", ["门店", "store"], False)]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "patterns": ["x"], "match": "regex"}), encoding="utf-8")
    refused = siyu(database_url, "replies", "add", "--workspace", workspace.name, str(bad))
    assert refused.returncode == 2 and "reply" in refused.stderr
    welcome = tmp_path / "welcome.json"
    welcome.write_text(json.dumps({"msgtype": "text", "text": {"content": "欢迎关注"}}), encoding="utf-8")
    saved = siyu(database_url, "replies", "welcome", "--workspace", workspace.name, "wechat", str(welcome), "--json")
    assert saved.returncode == 0 and json.loads(saved.stdout)["content"]["text"]["content"] == "欢迎关注"
    shown = siyu(database_url, "replies", "welcome", "--workspace", workspace.name, "wechat")
    assert "on, sent 0 times" in shown.stdout
    assert siyu(database_url, "replies", "delete", "--workspace", workspace.name, str(rule_id)).returncode == 0
    missing = siyu(database_url, "replies", "delete", "--workspace", workspace.name, str(rule_id))
    assert missing.returncode == 2 and "No reply rule" in missing.stderr
