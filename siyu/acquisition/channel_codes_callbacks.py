"""What a push through a channel code does (registered at priority 10, before the default welcome):
record the arrival (scan, follow or add — the figures and the routing's counts), and for a person
that resolved: attribute them to the code (traits ``first_channel_code`` — kept once set — and
``last_channel_code``), add the code's tags, enter the code's journey, and greet them with the
code's welcome message — the passive reply for an official account; for WeCom an outbox row to the
customer from the member they added — noting ``outcome.notes["welcome"] = "channel_code"`` so
the default welcome stands back; and decide the code's cash reward, if it has one, in the reward
ledger (:mod:`siyu.payments.ledger`; the worker pays it). An expired or archived code records the
arrival and does nothing else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu.acquisition import channel_codes_store as store
from siyu.acquisition.channel_codes import local_day
from siyu.callbacks.hooks import InboundEvent, Outcome, register, workspace_of
from siyu.errors import SiyuError


def _key(event: InboundEvent) -> str:
    if event.platform == "wecom":
        return event.fields.get("State", "") or ""
    return (event.fields.get("EventKey", "") or "").removeprefix("qrscene_")


def arrived(conn: Connection, runtime: Any, event: InboundEvent, outcome: Outcome) -> None:
    key = _key(event)
    if not key:
        return
    code = store.code_by_key(conn, event.workspace_id, key)
    if code is None:
        return

    workspace = workspace_of(conn, event)
    kind = "add" if event.platform == "wecom" else "follow" if event.kind == "subscribe" else "scan"
    userid = event.fields.get("UserID") if event.platform == "wecom" else None
    new = store.record_arrival(conn, event.workspace_id, code_id=code["id"], profile_id=event.profile_id, kind=kind,
                               userid=userid, at=event.at, day=local_day(event.at, workspace.timezone),
                               key=f"{event.message_id}")
    outcome.notes["channel_code"] = {"id": code["id"], "key": key, "kind": kind}
    live = code["status"] == "active" and (code["expires_at"] is None or code["expires_at"] > event.at)
    profile_id = event.profile_id
    if not new or not live or profile_id is None:
        return
    _attribute(conn, event, profile_id, code)
    if code["journey_id"]:
        _enter(conn, event, profile_id, code, outcome)
    if code["welcome"] and outcome.notes.get("welcome") is None:
        _welcome(conn, event, code, userid, outcome, runtime)
    if code.get("reward"):
        _reward(conn, event, profile_id, code, outcome)


def _attribute(conn: Connection, event: InboundEvent, profile_id: int, code: dict[str, Any]) -> None:
    from siyu.profiles import store as profile_store
    from siyu.profiles.editing import edit_traits

    traits = profile_store.load_traits(conn, event.workspace_id, [profile_id]).get(profile_id, ({}, {}))[0]
    values = {"last_channel_code": code["key"]}
    if not traits.get("first_channel_code"):
        values["first_channel_code"] = code["key"]
    edit_traits(conn, event.workspace_id, profile_id, values, [], actor=f"channel_code:{code['id']}")
    for name in code["tags"] or []:
        _tag(conn, event, profile_id, code, name)


def _tag(conn: Connection, event: InboundEvent, profile_id: int, code: dict[str, Any], name: str) -> None:
    from siyu.profiles import tag_store
    from siyu.profiles.errors import TagNotFound
    from siyu.profiles.models import TagGroupKind
    from siyu.profiles.tagging import tag_profiles

    try:
        tag = tag_store.get_tag(conn, event.workspace_id, name=name)
    except TagNotFound:
        tag_store.create_tag(conn, event.workspace_id, name, group=None, kind=TagGroupKind.BUSINESS,
                             description=None, at=event.at)
        tag = tag_store.get_tag(conn, event.workspace_id, name=name)
    tag_profiles(conn, event.workspace_id, tag, profile_ids=[profile_id], source="channel_code",
                 actor=f"channel_code:{code['id']}")


def _enter(conn: Connection, event: InboundEvent, profile_id: int, code: dict[str, Any], outcome: Outcome) -> None:
    """The journey's API entry, keyed by the push: a journey that is paused or refuses the person
    (entry rule) leaves the rest of the arrival standing."""
    from siyu.journeys.lifecycle import enter_by_api

    try:
        with conn.begin_nested():
            entry, _ = enter_by_api(conn, event.workspace_id, code["journey_id"], profile_id=profile_id,
                                    key=f"channel_code:{code['id']}:{event.message_id}",
                                    properties={"channel_code": code["key"]}, now=event.at)
        outcome.notes["channel_code_journey"] = {"entry_id": entry.id}
    except SiyuError as error:
        outcome.notes["channel_code_journey"] = {"refused": error.code}


def _welcome(conn: Connection, event: InboundEvent, code: dict[str, Any], userid: str | None,
             outcome: Outcome, runtime: Any = None) -> None:
    """The code's welcome through the same path as the default one (personalised, the passive reply on
    an official account; on WeCom ``send_welcome_msg`` with the push's WelcomeCode, through the outbox)."""
    from siyu.acquisition.welcome import queue_welcome

    text = str(code["welcome"]["text"])
    content = ({"msgtype": "text", "text": {"content": text}} if event.platform == "wechat"
               else {"text": {"content": text}})
    queue_welcome(conn, runtime, event, content, outcome, source="channel_code")


def _reward(conn: Connection, event: InboundEvent, profile_id: int, code: dict[str, Any], outcome: Outcome) -> None:
    """The code's red packet, decided in the ledger (the worker pays it): once per person per code,
    against the code's budget (``reason`` = ``channel_code:<id>``)."""
    from siyu.payments.ledger import decide_reward

    reward = code["reward"]
    decided, _ = decide_reward(conn, event.workspace_id, key=f"channel_code:{code['id']}:profile:{profile_id}",
                               profile_id=profile_id, amount_fen=int(reward["cash_fen"]),
                               reason=f"channel_code:{code['id']}", wishing=reward.get("wishing") or code["name"],
                               act_name=code["name"][:32], remark=f"channel_code:{code['key']}",
                               budget_fen=reward.get("budget_fen"), now=event.at)
    outcome.notes["reward"] = {"id": decided.id, "status": decided.status.value}


register("wechat", "subscribe", arrived, priority=10)
register("wechat", "scan", arrived, priority=10)
register("wecom", "add_external_contact", arrived, priority=10)
