"""Ready journeys an operator starts from (``GET /api/journey-templates``, ``siyu journeys templates``,
``siyu journeys create --from-template welcome``).

Names and descriptions come in the operator's language; message texts carry both (``{"zh", "en"}``
variants, rendered in each person's language when sent). Messages go by e-mail as written, the one
channel every workspace can set up; switch a step's channel (WeCom, WeChat) in the draft before
publishing. Two templates are tailored to the workspace when created (:func:`tailored`): the
post-purchase repurchase reminder waits the brand's typical repurchase cycle (the lifecycle
threshold the scores compute from the gaps between orders), and the win-back enters people as
they join a "dormant" segment, created if missing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.journeys.errors import JourneyNotFound

ORDER, FOLLOWED, VIEWED, ADDED, SHIPPED = "Order Completed", "Followed", "Product Viewed", "Product Added", \
    "Order Shipped"
POINTS_EXPIRING = "Points Expiring"  # siyu.loyalty.models.POINTS_EXPIRING, written by the nightly run
DORMANT_SEGMENT = "沉睡客户 · dormant customers"
REPURCHASE_WAIT = "{repurchase_days}d"  # replaced by :func:`tailored`


def _mail(subject: tuple[str, str], text: tuple[str, str], purpose: str = "marketing") -> dict[str, Any]:
    return {"channel": "email", "purpose": purpose,
            "template": {"subject": {"zh": subject[0], "en": subject[1]}, "text": {"zh": text[0], "en": text[1]}}}


NAME = "{{ profile.traits.name | default('') }}"


def _welcome() -> dict[str, Any]:
    return {
        "trigger": {"event": FOLLOWED}, "entry": {"rule": "once"}, "holdout_percent": 10,
        "goal": {"event": ORDER, "within": "14d"},
        "steps": [
            {"id": "hello", "send": _mail(("欢迎加入", "Welcome aboard"),
                                          (f"{NAME}你好，欢迎关注！回复「新人」领取见面礼。",
                                           f"Hi {NAME}, thanks for following! Reply 'new' for a welcome gift."))},
            {"id": "tag-new", "tag": {"add": ["新粉 new follower"]}},
            {"id": "next-morning", "wait": {"duration": "1d", "at": "10:00"}},
            {"id": "ordered", "condition": {"event": ORDER, "did": True}, "then": "end", "else": "bestsellers"},
            {"id": "bestsellers", "send": _mail(("大家都在买", "What everyone is buying"),
                                                ("为你挑了几款人气单品，新人下单立减 10 元。",
                                                 "A few favourites picked for you; 10 off your first order."))},
        ]}


def _forgetting_curve() -> dict[str, Any]:
    """Touches on days 1, 2, 4, 7 and 15 after entering (遗忘曲线), each in the evening."""
    steps: list[dict[str, Any]] = []
    previous = 0
    for day in (1, 2, 4, 7, 15):
        steps.append({"id": f"wait-day-{day}", "wait": {"duration": f"{day - previous}d", "at": "20:00"}})
        steps.append({"id": f"day-{day}", "send": _mail(
            (f"第 {day} 天：别忘了你的心愿单", f"Day {day}: your wishlist"),
            ("你关注的好物还在等你。", "The things you liked are still here."))})
        previous = day
    return {"trigger": {"event": "Signed Up"}, "entry": {"rule": "once"}, "goal": {"event": ORDER, "within": "30d"},
            "holdout_percent": 10, "steps": steps}


def _browse_abandonment() -> dict[str, Any]:
    return {
        "trigger": {"event": VIEWED}, "entry": {"rule": "once_per", "period": "7d"},
        "goal": {"event": ORDER, "within": "3d"},
        "steps": [
            {"id": "ordered-in-24h", "wait_for": {"event": ORDER, "timeout": "24h"}, "on_event": "end",
             "on_timeout": "reminder"},
            {"id": "reminder", "send": _mail(("你看过的还在这里", "Still thinking about it?"),
                                             ("你浏览过的商品库存不多了，需要帮你留一件吗？",
                                              "The item you viewed is running low. Shall we keep one for you?"))},
        ]}


def _cart_abandonment() -> dict[str, Any]:
    return {
        "trigger": {"event": ADDED}, "entry": {"rule": "once_per", "period": "3d"},
        "goal": {"event": ORDER, "within": "7d"}, "holdout_percent": 10,
        "steps": [
            {"id": "ordered-in-1h", "wait_for": {"event": ORDER, "timeout": "1h"}, "on_event": "end",
             "on_timeout": "nudge"},
            {"id": "nudge", "send": _mail(("购物车里的宝贝在等你", "Your cart is waiting"),
                                          ("购物车里还有未结算的商品，点此继续结算。",
                                           "You left something in your cart. Pick up where you left off."))},
            {"id": "ordered-in-24h", "wait_for": {"event": ORDER, "timeout": "24h"}, "on_event": "end",
             "on_timeout": "coupon"},
            {"id": "coupon", "give_coupon": {"offer": "CART10"}},
            {"id": "last-call", "send": _mail(("送你一张 10 元券", "10 off, just for you"),
                                              ("购物车商品今天下单立减 10 元。", "Take 10 off your cart today."))},
        ]}


def _post_purchase() -> dict[str, Any]:
    return {
        "trigger": {"event": ORDER}, "entry": {"rule": "every_time"},
        "goal": {"event": ORDER, "within": "120d"},
        "steps": [
            {"id": "shipped", "wait_for": {"event": SHIPPED, "timeout": "3d"}, "on_event": "shipping-notice",
             "on_timeout": "review-wait"},
            {"id": "shipping-notice", "send": _mail(("您的订单已发货", "Your order is on its way"),
                                                    ("包裹已发出，注意查收。", "Your parcel has shipped."),
                                                    "transactional")},
            {"id": "review-wait", "wait": {"duration": "7d", "at": "19:00"}},
            {"id": "review", "send": _mail(("用得怎么样？", "How is it going?"),
                                           ("写下评价，帮助更多姐妹挑选。", "Leave a review to help others choose."))},
            {"id": "cycle-wait", "wait": {"duration": REPURCHASE_WAIT, "at": "10:00"}},
            {"id": "repurchase", "send": _mail(("该补货啦", "Time to restock?"),
                                               ("按你的使用节奏，上次买的快用完了，一键回购。",
                                                "By now you may be running low. Reorder in one tap."))},
        ]}


def _winback() -> dict[str, Any]:
    return {
        "trigger": {"segment": 0, "on": "entered"},  # the dormant segment, filled in by tailored()
        "entry": {"rule": "once_per", "period": "90d"}, "holdout_percent": 10,
        "goal": {"event": ORDER, "within": "30d"},
        "steps": [
            {"id": "coupon", "give_coupon": {"offer": "WINBACK20"}},
            {"id": "miss-you", "send": _mail(("好久不见，送你 20 元券", "We miss you: 20 off"),
                                             ("回来看看吧，专属回归券已放入你的账户。",
                                              "Come back and see what's new; a welcome-back coupon is waiting."))},
            {"id": "came-back", "wait_for": {"event": ORDER, "timeout": "7d"}, "on_event": "end",
             "on_timeout": "last-call"},
            {"id": "last-call", "send": _mail(("回归券即将过期", "Your coupon expires soon"),
                                              ("20 元回归券 3 天后过期。", "Your 20 off expires in 3 days."))},
            {"id": "staff-follow-up", "task": {"title": "沉睡客户回访 · call a dormant customer", "due": "2d"}},
        ]}


def _birthday() -> dict[str, Any]:
    return {
        "trigger": {"date_trait": "birthday", "offset": "-3d", "at": "10:00", "yearly": True},
        "entry": {"rule": "once_per", "period": "300d"}, "goal": {"event": ORDER, "within": "10d"},
        "steps": [
            {"id": "gift", "give_coupon": {"offer": "BIRTHDAY"}},
            {"id": "greeting", "send": _mail(("生日快乐，礼物已送达", "Happy birthday: a gift for you"),
                                             (f"{NAME}，生日快乐！生日礼券已放入你的账户，生日周内有效。",
                                              f"Happy birthday {NAME}! Your birthday coupon is valid all week."))},
            {"id": "tag", "tag": {"add": ["生日礼 birthday gift"]}},
        ]}


def _anniversary() -> dict[str, Any]:
    return {
        "trigger": {"date_trait": "member_since", "at": "10:00", "yearly": True},
        "entry": {"rule": "once_per", "period": "300d"}, "goal": {"event": ORDER, "within": "14d"},
        "steps": [
            {"id": "points", "give_points": {"amount": 200}},
            {"id": "thanks", "send": _mail(("入会周年快乐", "Happy membership anniversary"),
                                           (f"{NAME}，感谢一路相伴！周年礼 200 积分已到账。",
                                            f"Thank you for another year together, {NAME}! 200 anniversary "
                                            "points are in your account."))},
        ]}


def _spring_festival() -> dict[str, Any]:
    return {
        "trigger": {"holiday": "spring_festival", "offset": "-3d", "at": "10:00"},
        "entry": {"rule": "once_per", "period": "300d"},
        "steps": [
            {"id": "greeting", "send": _mail(("新春快乐，给你拜个早年", "Happy Spring Festival"),
                                             (f"{NAME}，新春将至，祝你阖家团圆、万事如意！年货节福利已为你备好。",
                                              f"{NAME}, the Spring Festival is near: wishing you a happy reunion "
                                              "and a prosperous new year! Your festive treats are ready."))},
        ]}


def _sale_warmup(holiday: str, warm_up: tuple[tuple[str, str], tuple[str, str]]) -> dict[str, Any]:
    """A shopping festival's warm-up: coupons and cart 3 days before at 20:00, and on the eve (the sale
    opens at midnight) a reminder to those who haven't ordered since."""
    return {
        "trigger": {"holiday": holiday, "offset": "-3d", "at": "20:00"},
        "entry": {"rule": "once_per", "period": "300d"}, "goal": {"event": ORDER, "within": "4d"},
        "steps": [
            {"id": "warm-up", "send": _mail(*warm_up)},
            {"id": "the-eve", "wait": {"duration": "2d", "at": "20:00"}},
            {"id": "ordered", "condition": {"event": ORDER, "did": True, "within": "3d"}, "then": "end",
             "else": "reminder"},
            {"id": "reminder", "send": _mail(("今晚零点开抢", "Tonight at midnight"),
                                             ("购物车里的好物今晚零点开抢，别错过。",
                                              "What's in your cart goes on sale at midnight tonight."))},
        ]}


def _double_11_warmup() -> dict[str, Any]:
    return _sale_warmup("double_11", (("双十一预热：先领券再加购", "Double 11 warm-up: coupons first"),
                                      ("双十一还有 3 天，先领券、加购物车，11 日零点一起抢。",
                                       "Double 11 is 3 days away: take your coupons and fill your cart "
                                       "before midnight on the 11th.")))


def _618_warmup() -> dict[str, Any]:
    return _sale_warmup("618", (("618 预热：先领券再加购", "618 warm-up: coupons first"),
                                ("618 年中大促还有 3 天，先领券、加购物车，18 日零点一起抢。",
                                 "The 618 mid-year sale is 3 days away: take your coupons and fill your cart "
                                 "before midnight on the 18th.")))


def _points_expiring() -> dict[str, Any]:
    """On ``Points Expiring``, which the loyalty nightly run writes ``remind_days`` before a member's
    lots expire (:mod:`siyu.loyalty.nightly`): ``points`` is what those lots hold, ``expires_at`` the
    earliest of their expiry instants, rendered as a date in the person's language and time zone."""
    figures = "{{ event.properties.points }}", "{{ event.properties.expires_at | date('long') }}"
    centre = "{{ member_centre_link() }}"
    return {
        "trigger": {"event": POINTS_EXPIRING}, "entry": {"rule": "every_time"},
        "steps": [
            {"id": "reminder", "send": _mail(
                ("积分即将过期", "Your points are about to expire"),
                (f"{NAME}，你有 {figures[0]} 积分将于 {figures[1]} 过期，快去会员中心兑换吧：{centre}",
                 f"{NAME}, {figures[0]} of your points expire on {figures[1]}. Spend them in your member "
                 f"centre: {centre}"))},
        ]}


def _new_vs_returning() -> dict[str, Any]:
    return {
        "trigger": {"event": ORDER}, "entry": {"rule": "once_per", "period": "30d"},
        "steps": [
            {"id": "first-order", "condition": {"rollup": "order_count", "op": "lte", "value": 1},
             "then": "new-customer", "else": "returning"},
            {"id": "new-customer", "send": _mail(("感谢你的第一单", "Thanks for your first order"),
                                                 ("新客专享：加入会员，下单再享 95 折。",
                                                  "New here? Join the membership for 5% off your next order.")),
             "next": "end"},
            {"id": "returning", "send": _mail(
                ("老朋友，谢谢你回来", "Thanks for coming back"),
                ("老客专享：本月积分翻倍。", "For returning customers: double points this month."))},
            {"id": "points", "give_points": {"amount": 100}},
        ]}


_TEMPLATES = {  # key: (definition, (name zh, name en), (description zh, description en))
    "welcome": (_welcome, ("关注后欢迎系列", "Welcome series after follow"), (
        "新粉关注后立即欢迎，次日未下单再推荐爆款。",
        "Greet new followers at once; recommend bestsellers the next morning to those who haven't ordered.")),
    "forgetting_curve": (_forgetting_curve, ("遗忘曲线触达（第 1、2、4、7、15 天）",
                                             "Forgetting-curve series (days 1, 2, 4, 7, 15)"), (
        "在遗忘点前后反复触达新注册用户。",
        "Spaced touches timed at the points of forgetting.")),
    "browse_abandonment": (_browse_abandonment, ("浏览未购提醒", "Browse abandonment"), (
        "浏览商品 24 小时内未下单则提醒。",
        "Remind people who viewed and did not order within 24 h.")),
    "cart_abandonment": (_cart_abandonment, ("购物车挽回", "Cart abandonment"), (
        "加购 1 小时未下单提醒，24 小时仍未下单送券。",
        "Nudge after 1 h; a coupon after 24 h.")),
    "post_purchase": (_post_purchase, ("购后关怀与复购提醒", "Post-purchase care and repurchase reminder"), (
        "发货通知、评价邀请，并在品牌的典型复购周期提醒回购。",
        "Shipping notice, review request, and a reminder at the brand's typical repurchase cycle.")),
    "winback": (_winback, ("沉睡客户召回（送券）", "Dormant win-back with a coupon"), (
        "进入沉睡期即送回归券，7 天未回购再提醒并安排员工回访。",
        "A coupon when customers turn dormant; a reminder and a staff call if they don't come back in 7 days.")),
    "birthday": (_birthday, ("生日礼", "Birthday gift"), (
        "生日前 3 天上午 10 点送礼券和祝福，每年一次。",
        "A coupon and greeting 3 days before the birthday at 10:00, every year.")),
    "anniversary": (_anniversary, ("入会周年礼", "Membership anniversary"), (
        "每年入会纪念日上午 10 点送积分和感谢。",
        "Points and a thank-you on each membership anniversary at 10:00.")),
    "spring_festival": (_spring_festival, ("春节问候", "Spring Festival greeting"), (
        "春节（农历正月初一）前 3 天上午 10 点，按各人所在时区送上新春祝福。",
        "A greeting 3 days before the Spring Festival (lunar new year) at 10:00 in each person's time zone.")),
    "double_11_warmup": (_double_11_warmup, ("双十一预热", "Double 11 warm-up"), (
        "双十一前 3 天晚 8 点提醒领券加购，前一晚未下单再提醒。",
        "Coupons and cart reminder 3 days before Double 11 at 20:00; again on the eve for those who haven't "
        "ordered.")),
    "618_warmup": (_618_warmup, ("618 预热", "618 warm-up"), (
        "618 前 3 天晚 8 点提醒领券加购，前一晚未下单再提醒。",
        "Coupons and cart reminder 3 days before 618 at 20:00; again on the eve for those who haven't ordered.")),
    "points_expiring": (_points_expiring, ("积分过期提醒", "Points expiry reminder"), (
        "会员积分过期前（积分规则的提醒天数）告知将过期的积分和日期，附会员中心链接。",
        "Tells members how many points expire and when, ahead of the expiry (the points rules' reminder "
        "days), with a link to their member centre.")),
    "new_vs_returning": (_new_vs_returning, ("新老客分流", "New vs returning customers"), (
        "首单客户与复购客户收到不同内容。",
        "First-time and returning buyers get different content.")),
}
KEYS = tuple(_TEMPLATES)


def get(key: str, language: str = "zh") -> dict[str, Any]:
    if key not in _TEMPLATES:
        raise JourneyNotFound(f"No journey template {key!r}; one of {', '.join(KEYS)}.", code="journeys.no_template",
                              details={"template": key})
    build, names, descriptions = _TEMPLATES[key]
    index = 0 if language == "zh" else 1
    return {"key": key, "name": names[index], "description": descriptions[index], "definition": build()}


def tailored(conn: Connection, workspace_id: int, key: str, definition: dict[str, Any]) -> dict[str, Any]:
    """The template's definition fitted to the workspace (see the module's docstring)."""
    if key == "post_purchase":
        from siyu.segments.score_store import lifecycle_thresholds
        from siyu.workspaces import store as workspace_store

        settings = workspace_store.get_workspace(conn, workspace_id).settings or {}
        cycle = lifecycle_thresholds(conn, workspace_id, settings).active_days
        for step in definition["steps"]:
            if step.get("wait", {}).get("duration") == REPURCHASE_WAIT:
                step["wait"]["duration"] = f"{max(cycle - 7, 1)}d"  # the review step already waited 7 days
    if key == "winback":
        definition["trigger"]["segment"] = _dormant_segment(conn, workspace_id)
    return definition


def _dormant_segment(conn: Connection, workspace_id: int) -> int:
    from siyu.segments import membership
    from siyu.segments import store as segment_store
    from siyu.workspaces import store as workspace_store

    for segment in segment_store.list_segments(conn, workspace_id):
        if segment["name"] == DORMANT_SEGMENT:
            return int(segment["id"])
    workspace = workspace_store.get_workspace(conn, workspace_id)
    saved = membership.save(conn, workspace_id, name=DORMANT_SEGMENT, description="lifecycle_stage = dormant",
                            definition={"score": "lifecycle_stage", "op": "eq", "value": "dormant"},
                            actor="journey-template", now=clock.now(), timezone=workspace.timezone)
    return int(saved["id"])
