"""The parcel-card flow in the demo brand (issue 5, part 9), through the real callback handlers.

The card in every Tmall parcel carries the 小完子 persona's WeCom contact code (channel code
``tmall_card``, with a 1.88-yuan red packet and a budget). For the most recent Tmall buyers who
scanned it (after they followed the official account), this writes what WeCom would have pushed —
``add_external_contact`` with ``State = tmall_card`` and a WelcomeCode, then, for most of them, the
welfare group's ``add_member`` — through the same path as ``/callbacks/wecom``: the push's siyu
events go through the ingest pipeline and the registered handlers run (ownership, attribution, the
channel tag, the welcome queued in the outbox, the red packet decided in the reward ledger, the
group marked for its sync). Only the signature and the AES layer are skipped. The unionid WeCom's
``externalcontact/get`` gives for a corp bound to the open platform joins the contact to the
buyer's profile, which knows the official-account openid the packet is paid to.

The packets are then paid through a local fake WeChat Pay merchant (the same client code and
protocol as the real one), so the ledger shows sent rows — and refused ones once the budget is spent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from siyu import clock
from siyu.callbacks import hooks
from siyu.callbacks.pushes import pushes_of
from siyu.db.engine import read, write
from siyu.demo.brand import OFFICIAL_ACCOUNT_APP_ID, WECOM_CORP_ID
from siyu.demo.story import arrival, person_of, tell
from siyu.identity.rules import IdentityRules
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import Message
from siyu.runtime import Runtime

KEY, NAME = "tmall_card", "天猫包裹卡"
MEMBERS = ("wanzi_a", "wanzi_b")
GROUP_CHAT = "wrDemoWanziFuli01"
PEOPLE = 120  # buyers who add 小完子 through the card (the most recent ones, in the last RECENT days)
RECENT = timedelta(days=30)
CASH_FEN, BUDGET_FEN = 188, 188 * 100  # the budget runs out after 100 packets
MCH_ID, API_KEY = "1900000109", "demo0api0key0for0the0local0fake0"
WELCOME = "你好，我是小完子～谢谢你买了我们的{product}！1.88 元红包已发到你的微信，回复「福利群」拉你进小完子福利群。"


@dataclass(frozen=True)
class Scan:
    index: int
    at: datetime  # when the buyer added 小完子 (a few minutes after following the official account)
    unionid: str


def scans(seed: int, customers: int, now: datetime) -> list[Scan]:
    """The buyers who scan the card: Tmall-card customers whose follow through the card happened in
    the last :data:`RECENT` days, the first :data:`PEOPLE` by index (deterministic)."""
    found = []
    for index in range(customers):
        came = arrival(seed, index, now)
        if came.channel != "tmall_card" or came.at < now - RECENT - timedelta(days=6):
            continue
        follow = next((m for m in tell(seed, index, now).messages if m.get("event") == "Followed"
                       and m.get("properties", {}).get("scene") == "tmall_card_qr"), None)
        if follow is None:
            continue
        at = datetime.fromisoformat(follow["timestamp"]) + timedelta(minutes=2 + index % 7)
        if now - RECENT <= at <= now:
            found.append(Scan(index, at, person_of(seed, index).unionid))
        if len(found) == PEOPLE:
            break
    return found


def _external(seed: int, index: int) -> str:
    return f"wmCard{seed}x{index:07d}"


def _setup(conn: Any, workspace_id: int, now: datetime) -> dict[str, Any]:
    """The 小完子 persona with two members behind it, and the card's channel code (idempotent)."""
    from siyu.acquisition import channel_codes_store as codes
    from siyu.staff import store as staff_store
    from siyu.staff.models import StaffKind

    existing = {s.userid or s.name: s for s in staff_store.list_staff(conn, workspace_id)}
    persona = existing.get("小完子") or staff_store.create_staff(
        conn, workspace_id, kind=StaffKind.PERSONA, name="小完子", userid=None, avatar_url=None,
        signature="你的私人美妆顾问", department=None, persona_id=None, now=now)
    for userid in MEMBERS:
        if userid not in existing:
            staff_store.create_staff(conn, workspace_id, kind=StaffKind.MEMBER, name=f"小完子 {userid[-1].upper()}",
                                     userid=userid, avatar_url=None, signature=None, department="私域运营",
                                     persona_id=persona.id, now=now)
    code = codes.code_by_key(conn, workspace_id, KEY)
    if code is None:
        code = codes.create_code(
            conn, workspace_id, now - RECENT - timedelta(days=1), kind="wecom_contact", key=KEY, name=NAME,
            caption="扫码加小完子，领 1.88 元红包", routing={"strategy": "round_robin",
                                                   "staff": [{"userid": u} for u in MEMBERS]},
            welcome={"text": WELCOME.format(product="宝贝")}, tags=["渠道:天猫包裹卡"], journey_id=None,
            expires_at=None, reward={"cash_fen": CASH_FEN, "wishing": "谢谢你来，小完子的一点心意",
                                     "budget_fen": BUDGET_FEN},
            config_id="demo-contact-way-tmall-card", pushed_users=list(MEMBERS))
    return code


def _push(workspace: Any, runtime: Runtime, conn: Any, fields: dict[str, Any], at: datetime, unionid: str) -> None:
    """One WeCom push, as :func:`siyu.callbacks.receive.receive` handles it after decryption."""
    pushes = pushes_of("wecom", WECOM_CORP_ID, {k: str(v) for k, v in fields.items()}, at)
    messages = []
    for push in pushes:
        message = Message(type="track", message_id=push.message_id, name=push.name, timestamp=push.at,
                          received_at=push.at, properties=push.properties, source="wecom_callback",
                          context={"externalIds": [{"type": t, "id": i} for t, i in push.external_ids],
                                   "traits": {"wechat_unionid": unionid}})
        message.dedupe_forever = True
        messages.append(message)
    result = ingest(conn, workspace.id, messages, rules=IdentityRules.from_settings(workspace.settings))
    for push in pushes:
        if push.message_id in result.profile_ids:
            hooks.dispatch(conn, runtime, hooks.InboundEvent(
                workspace_id=workspace.id, platform="wecom", kind=push.kind,
                fields={k: str(v) for k, v in fields.items()}, at=push.at,
                profile_id=result.profile_ids[push.message_id], event_name=push.name,
                message_id=push.message_id))


def parcel_card(runtime: Runtime, workspace_id: int, *, seed: int, customers: int,
                now: datetime | None = None) -> dict[str, int]:
    """Run the flow for the demo brand; what it did, in figures."""
    from siyu.workspaces import store as workspace_store

    now = now or clock.now()
    with write(runtime.engine) as conn:
        code = _setup(conn, workspace_id, now)
        workspace = workspace_store.get_workspace(conn, workspace_id)
    found = scans(seed, customers, now)
    joined = 0
    with write(runtime.engine) as conn:
        for scan in found:
            rnd = random.Random(f"{seed}:{scan.index}:parcel-card")
            member = MEMBERS[scan.index % len(MEMBERS)]
            _push(workspace, runtime, conn, {
                "ToUserName": WECOM_CORP_ID, "FromUserName": "sys", "CreateTime": int(scan.at.timestamp()),
                "MsgType": "event", "Event": "change_external_contact", "ChangeType": "add_external_contact",
                "UserID": member, "ExternalUserID": _external(seed, scan.index), "State": KEY,
                "WelcomeCode": f"demoWelcome{seed}x{scan.index:07d}"}, scan.at, scan.unionid)
            if rnd.random() < 0.6:  # most say 福利群 and are invited; they join by the group's QR
                at = scan.at + timedelta(minutes=rnd.randint(5, 180))
                if at <= now:
                    _push(workspace, runtime, conn, {
                        "ToUserName": WECOM_CORP_ID, "FromUserName": "sys", "CreateTime": int(at.timestamp()),
                        "MsgType": "event", "Event": "change_external_chat", "ChangeType": "update",
                        "ChatId": GROUP_CHAT, "UpdateDetail": "add_member", "JoinScene": 3, "MemChangeCnt": 1,
                        "MemChangeList": _external(seed, scan.index)}, at, scan.unionid)
                    joined += 1
    _pay(runtime, workspace_id, now)
    with read(runtime.engine) as conn:
        from siyu.payments import store as reward_store

        rows = reward_store.list_rewards(conn, workspace_id, reason=f"channel_code:{code['id']}", limit=500)
    return {"adds": len(found), "joined_group": joined, "rewards_sent": sum(r.status.value == "sent" for r in rows),
            "rewards_refused": sum(r.status.value == "refused" for r in rows),
            "paid_fen": sum(r.amount_fen for r in rows if r.status.value == "sent")}


def _pay(runtime: Runtime, workspace_id: int, now: datetime) -> None:
    """Pay the decided packets through a local fake merchant bound to the demo's official account;
    the workspace is left without payment settings, so nothing is sent anywhere afterwards."""
    from siyu.channels.fakes.wechat_pay import FakeWeChatPay
    from siyu.payments.ledger import send_due
    from siyu.payments.wechat_pay import WeChatPayCash
    from siyu.workspaces import store as workspace_store

    with FakeWeChatPay({MCH_ID: API_KEY}, apps={OFFICIAL_ACCOUNT_APP_ID}, now=lambda: now.timestamp()) as merchant:
        provider = WeChatPayCash(appid=OFFICIAL_ACCOUNT_APP_ID, mch_id=MCH_ID, api_key=API_KEY, send_name="悦妆 Demo",
                                 base_url=merchant.url)
        with read(runtime.engine) as conn:
            workspace = workspace_store.get_workspace(conn, workspace_id)
        while send_due(runtime.engine, workspace, provider, now=now).get("sent"):
            pass
