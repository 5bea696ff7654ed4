"""Fission campaigns in the demo brand (issue 6, parts 3-7): one campaign of each kind, run over the
last two weeks by people who came for them — a referral whose invitees ordered (one farmed from a
single phone, held for review), an assist unlocked, a task unlock with two tiers, a leaderboard that
ended and handed out its prizes, a filled and a failed group buy, a bargain that reached its price, a
split coupon shared out, and a check-in streak.

Everything goes through the real paths: offers through :mod:`siyu.offers.service`, campaigns,
joins, invites and helps through :mod:`siyu.growth.service` (so anti-fraud judges every one), people
and orders through the ingest pipeline, qualification and settling through the worker's step.
Idempotent: a workspace with campaigns is left as it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.growth import service, store
from siyu.growth.check_in import local_day
from siyu.growth.models import CampaignKind
from siyu.growth.worker import run_workspace
from siyu.identity.rules import IdentityRules
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import parse_message
from siyu.offers.service import create_offer
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)
OPERATOR = {"name": "悦妆 Demo 旗舰店 · Yuezhuang Demo Store", "contact": "400-800-1234 · service@yuezhuang.example"}


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


class Demo:
    """The demo's people and clock: each person is ingested at the moment they first appear."""

    def __init__(self, runtime: Runtime, workspace_id: int, seed: int, now: datetime) -> None:
        self.runtime, self.workspace_id, self.seed, self.now = runtime, workspace_id, seed, now
        self.count = 0
        self.users: dict[int, str] = {}  # profile id → the userId it was ingested with

    def send(self, raw: list[dict[str, Any]]) -> dict[str, int | None]:
        messages = [parse_message(m, received_at=clock.now(), source="demo") for m in raw]
        for message in messages:
            message.dedupe_forever = True
            message.received_at = message.timestamp
        with write(self.runtime.engine) as conn:
            return ingest(conn, self.workspace_id, messages, rules=IdentityRules()).profile_ids

    def person(self, at: datetime, name: str) -> int:
        self.count += 1
        user = f"demo-camp-{self.seed}-{self.count}"
        found = self.send([{"type": "identify", "userId": user, "messageId": f"{user}-identify",
                            "traits": {"name": name}, "timestamp": at.isoformat()}])
        profile_id = next(iter(found.values()))
        assert profile_id is not None
        self.users[profile_id] = user
        return profile_id

    def order(self, profile_id: int, at: datetime) -> None:
        user = self.users[profile_id]
        self.send([{"type": "track", "event": "Order Completed", "userId": user, "messageId": f"{user}-order",
                    "timestamp": at.isoformat(), "properties": {"order_id": f"DC-{user}", "total": 199.0,
                                                               "currency": "CNY"}}])

    def campaign(self, kind: CampaignKind, name: str, rules: dict[str, Any], *, starts: datetime, ends: datetime,
                 budget_fen: int | None = None) -> Any:
        draft = service.Draft(kind=kind, name=name, rules=rules, operator=OPERATOR, starts_at=starts, ends_at=ends,
                              budget_fen=budget_fen)
        with write(self.runtime.engine) as conn:
            made = service.create_campaign(conn, self.workspace_id, draft, created_by="demo", now=starts)
            return service.launch(conn, self.workspace_id, made.id, starts)

    def join(self, campaign: Any, profile_id: int, at: datetime) -> str:
        with write(self.runtime.engine) as conn:
            return service.join(conn, self.workspace_id, campaign.id, profile_id, at).token

    def arrive(self, campaign: Any, what: str, ref: str, at: datetime, name: str, device: str | None = None) -> int:
        """A new person comes through ``ref``'s link a minute after first appearing; their profile id."""
        friend = self.person(at, name)
        arrival = service.Arrival(ref=ref, profile_id=friend, device_id=device or f"demo-device-{self.count}")
        verb = {"invite": service.record_invite, "help": service.record_help, "join": service.record_join}[what]
        with write(self.runtime.engine) as conn:
            verb(conn, self.workspace_id, campaign.id, arrival, at + MINUTE)
        return friend


def campaigns(runtime: Runtime, workspace_id: int, *, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Set up and run one campaign of each kind; what it did, in figures."""
    demo = Demo(runtime, workspace_id, seed, now or clock.now())
    with write(runtime.engine) as conn:
        if store.list_campaigns(conn, workspace_id):
            return {}
        offer = create_offer(conn, workspace_id, {"name": "老带新 20 元券 · 20 yuan referral coupon",
                                                  "kind": "fixed_amount", "stock": 1000, "per_person_limit": 20,
                                                  "amount_fen": 2000, "valid_days": 30}, now=demo.now - 20 * DAY)
        zone = workspace_store.get_workspace(conn, workspace_id).timezone
    start, end = demo.now - 14 * DAY, demo.now + 16 * DAY
    _referral(demo, offer.id, start, end)
    _assist_and_tasks(demo, start, end)
    _leaderboard(demo, start)
    _group_bargain_split(demo, start, end)
    _check_in(demo, start, end, zone)
    done = run_workspace(runtime, workspace_id, demo.now)
    with write(runtime.engine) as conn:
        made = store.list_campaigns(conn, workspace_id)
    return {"campaigns": len(made), "people": demo.count, "qualified": done["qualified"], "settled": done["settled"]}


def _referral(demo: Demo, offer_id: int, start: datetime, end: datetime) -> None:
    reward = {"offer_id": offer_id, "cost_fen": 2000}
    campaign = demo.campaign(CampaignKind.REFERRAL, "老带新 · 邀好友首单各得 20 元", {
        "description": _text("邀请好友关注悦妆并在 7 天内完成首单，你和好友各得一张 20 元券。",
                             "Invite a friend; when they complete a first order within 7 days you both get 20 yuan."),
        "inviter_reward": reward, "invitee_reward": reward, "attribution_days": 7}, starts=start, ends=end,
        budget_fen=100_000)
    for n, name in enumerate(("王芳", "陈静")):
        ref = demo.join(campaign, demo.person(start - 60 * DAY, name), start + n * DAY)
        for k in range(4):
            at = start + (n + k + 1) * DAY
            friend = demo.arrive(campaign, "invite", ref, at, f"{name}的朋友{k + 1}")
            if k < 3:
                demo.order(friend, at + DAY)
    farm_ref = demo.join(campaign, demo.person(start - 90 * DAY, "刷单号"), start + DAY)
    for k in range(3):  # one phone, three "friends": the third is held for review
        demo.arrive(campaign, "invite", farm_ref, start + 2 * DAY + k * MINUTE, f"小号{k + 1}", device="farm-phone")


def _assist_and_tasks(demo: Demo, start: datetime, end: datetime) -> None:
    assist = demo.campaign(CampaignKind.ASSIST, "3 位好友助力领口红小样", {
        "description": _text("邀请 3 位好友关注公众号为你助力，即可领取口红小样一份。",
                             "Three friends follow the official account for you: a lipstick sample is yours."),
        "helpers_needed": 3, "reward": {"cost_fen": 1500}}, starts=start, ends=end)
    ref = demo.join(assist, demo.person(start - 30 * DAY, "李娜"), start + DAY)
    for k in range(3):
        demo.arrive(assist, "help", ref, start + DAY + (k + 1) * 60 * MINUTE, f"助力好友{k + 1}")
    tasks = demo.campaign(CampaignKind.TASK_UNLOCK, "任务宝 · 邀 3 / 10 人解锁礼盒", {
        "description": _text("邀请好友关注：满 3 人得旅行装，满 10 人得正装礼盒，先到先得。",
                             "Invite friends to follow: 3 unlock a travel kit, 10 a gift box, while stocks last."),
        "tiers": [{"threshold": 3, "stock": 50, "reward": {"cost_fen": 3000}},
                  {"threshold": 10, "stock": 5, "reward": {"cost_fen": 15000}}]}, starts=start, ends=end)
    for n, (name, friends) in enumerate((("赵敏", 11), ("孙丽", 4))):
        ref = demo.join(tasks, demo.person(start - 50 * DAY, name), start + n * DAY)
        for k in range(friends):
            demo.arrive(tasks, "invite", ref, start + (n + 1) * DAY + k * 30 * MINUTE, f"{name}邀请的{k + 1}")


def _leaderboard(demo: Demo, start: datetime) -> None:
    board = demo.campaign(CampaignKind.LEADERBOARD, "11 月拉新排行榜", {
        "description": _text("活动期间邀请好友关注，按成功邀请人数排名：第 1 名得正装礼盒，第 2–3 名得 50 元券。",
                             "Rank by friends who followed: #1 wins a gift box, #2-3 a 50 yuan coupon."),
        "prizes": [{"rank_from": 1, "rank_to": 1, "reward": {"cost_fen": 20000}},
                   {"rank_from": 2, "rank_to": 3, "reward": {"cost_fen": 5000}}]},
        starts=start, ends=demo.now - DAY)
    for n, (name, friends) in enumerate((("周婷", 6), ("吴倩", 4), ("郑爽", 4), ("冯媛", 1))):
        ref = demo.join(board, demo.person(start - 70 * DAY, name), start + n * 60 * MINUTE)
        for k in range(friends):
            demo.arrive(board, "invite", ref, start + (k + 1) * DAY + n * MINUTE, f"{name}的粉丝{k + 1}")


def _coupon(demo: Demo, name: str, start: datetime, amount_fen: int | None = None) -> int:
    """A fixed-amount coupon for a campaign whose rules decide each claim's value (its own face value)."""
    with write(demo.runtime.engine) as conn:
        return create_offer(conn, demo.workspace_id, {
            "name": name, "kind": "fixed_amount", "stock": 1000, "per_person_limit": 1, "amount_fen": amount_fen,
            "valid_days": 30, "description": "面值按活动规则 · worth what the campaign's rules decide"},
            now=start - DAY).id


def _group_bargain_split(demo: Demo, start: datetime, end: datetime) -> None:
    group_coupon = _coupon(demo, "拼团立减券 · group-buy coupon", start)
    groups = demo.campaign(CampaignKind.GROUP_BUY, "三人拼团 · 精华液 49 元", {
        "description": _text("原价 99 元，3 人成团，团长 49 元、团员 59 元，24 小时内未成团自动取消。",
                             "List price 99 yuan; 3 people form a group: 49 yuan for the leader, 59 for members; "
                             "unfilled in 24 h: void."),
        "group_size": 3, "time_limit_hours": 24, "list_price_fen": 9900, "leader_price_fen": 4900,
        "member_price_fen": 5900, "leader_reward": {"offer_id": group_coupon},
        "member_reward": {"offer_id": group_coupon}}, starts=start, ends=end)
    filled = demo.join(groups, demo.person(start - 20 * DAY, "团长阿美"), start + 2 * DAY)
    for k in range(2):
        demo.arrive(groups, "join", filled, start + 2 * DAY + (k + 1) * 60 * MINUTE, f"团员{k + 1}")
    lonely = demo.join(groups, demo.person(start - 20 * DAY, "团长小雪"), start + 3 * DAY)
    demo.arrive(groups, "join", lonely, start + 3 * DAY + 60 * MINUTE, "团员3")  # one short: fails at 24 h
    bargain = demo.campaign(CampaignKind.BARGAIN, "好友帮砍 · 199 元礼盒砍到 9.9", {
        "description": _text("邀请 5 位好友帮你砍价，砍到 9.9 元即可购买，24 小时有效。",
                             "Five friends cut the price to 9.9 yuan within 24 hours."),
        "start_price_fen": 19900, "target_price_fen": 990, "expected_helpers": 5,
        "reward": {"offer_id": _coupon(demo, "砍价券 · bargain coupon", start, 18910)}}, starts=start, ends=end)
    ref = demo.join(bargain, demo.person(start - 40 * DAY, "砍价达人"), start + 4 * DAY)
    for k in range(5):
        demo.arrive(bargain, "help", ref, start + 4 * DAY + (k + 1) * 30 * MINUTE, f"帮砍{k + 1}")
    split = demo.campaign(CampaignKind.SPLIT_COUPON, "50 元红包券 5 人瓜分", {
        "description": _text("分享链接，你和 4 位好友瓜分 50 元券，每人至少 1 元。",
                             "You and four friends share 50 yuan of coupons, at least 1 yuan each."),
        "pool_fen": 5000, "claimers": 5, "minimum_fen": 100,
        "offer_id": _coupon(demo, "瓜分券 · split coupon", start)}, starts=start, ends=end)
    ref = demo.join(split, demo.person(start - 10 * DAY, "分享者小萌"), start + 5 * DAY)
    for k in range(4):
        demo.arrive(split, "join", ref, start + 5 * DAY + (k + 1) * 10 * MINUTE, f"领券好友{k + 1}")


def _check_in(demo: Demo, start: datetime, end: datetime, zone: str) -> None:
    daily = demo.campaign(CampaignKind.CHECK_IN, "每日签到 · 连签 3 天 / 7 天有礼", {
        "description": _text("每天签到，连续 3 天得 5 元券，连续 7 天得小样礼包；漏签可用补签卡补 1 天。",
                             "Check in daily: 3 days in a row win 5 yuan, 7 a sample kit; a make-up card fills a gap."),
        "streak_rewards": {"3": {"cost_fen": 500}, "7": {"cost_fen": 2000}}, "makeup_cards": 1},
        starts=start, ends=end)
    someone = demo.person(start - 100 * DAY, "签到小能手")
    for day in range(8):
        at = start + day * DAY + 60 * MINUTE
        with write(demo.runtime.engine) as conn:
            service.check_in(conn, demo.workspace_id, daily.id, someone, today=local_day(at, zone), make_up_day=None,
                             now=at)
