"""Reading groupchat/get and reconciling it with the stored stints: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.groups.detail import parse_detail, reconcile
from siyu.groups.models import JoinScene, MemberType, Stint

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def answer(*members: dict) -> dict:
    return {"errcode": 0, "group_chat": {"chat_id": "wrA", "name": "小完子福利群", "owner": "xiaowanzi",
                                         "create_time": 1_790_000_000, "notice": "", "member_list": list(members),
                                         "member_version": "v1"}}


def test_the_documented_answer_is_read_with_scenes_inviters_and_types() -> None:
    detail = parse_detail(answer(
        {"userid": "xiaowanzi", "type": 1, "join_time": 1_790_000_000, "join_scene": 1},
        {"userid": "wmLina", "type": 2, "unionid": "oUnion1", "join_time": 1_790_000_100, "join_scene": 3,
         "invitor": {"userid": "xiaowanzi"}, "group_nickname": "娜娜", "name": "李娜"},
        {"userid": "wmWei", "type": 2, "join_time": 1_790_000_200, "join_scene": 2},
        {"userid": "wmOdd", "type": 2, "join_time": "soon", "join_scene": 9},
        {"type": 2}), NOW)
    assert [m.userid for m in detail.members] == ["xiaowanzi", "wmLina", "wmWei", "wmOdd"]  # no userid: dropped
    staff, lina, wei, odd = detail.members
    assert staff.member_type is MemberType.STAFF and lina.member_type is MemberType.EXTERNAL
    assert (lina.join_scene, lina.invitor_userid, lina.unionid, lina.name) == (JoinScene.QR, "xiaowanzi", "oUnion1",
                                                                                "李娜")
    assert wei.join_scene is JoinScene.LINK and staff.join_scene is JoinScene.INVITED
    assert odd.join_scene is JoinScene.UNKNOWN and odd.joined_at == NOW  # unusable join_time: the sync's time
    assert detail.owner_userid == "xiaowanzi" and detail.created_at == datetime.fromtimestamp(1_790_000_000, UTC)


def test_reconcile_opens_joins_closes_leaves_and_splits_a_missed_rejoin() -> None:
    detail = parse_detail(answer(
        {"userid": "wmStay", "type": 2, "join_time": 100, "join_scene": 3},
        {"userid": "wmBack", "type": 2, "join_time": 300, "join_scene": 3},
        {"userid": "wmNew", "type": 2, "join_time": 400, "join_scene": 1}), NOW)
    stints = [Stint(1, "wmStay", datetime.fromtimestamp(100, UTC), 11),
              Stint(2, "wmBack", datetime.fromtimestamp(200, UTC), 12),
              Stint(3, "wmGone", datetime.fromtimestamp(150, UTC), 13)]
    plan = reconcile(stints, detail)
    assert [s.userid for s in plan.ended] == ["wmBack", "wmGone"]
    assert sorted(m.userid for m in plan.joined) == ["wmBack", "wmNew"]
    assert [(s.userid, m.userid) for s, m in plan.still_in] == [("wmStay", "wmStay")]


def test_reconcile_with_nothing_stored_opens_everyone() -> None:
    detail = parse_detail(answer({"userid": "wmA", "type": 2, "join_time": 1, "join_scene": 3}), NOW)
    plan = reconcile([], detail)
    assert [m.userid for m in plan.joined] == ["wmA"] and not plan.ended and not plan.still_in
