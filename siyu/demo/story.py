"""One customer's year, as the Segment messages the brand's systems would have sent.

Each person is generated from their own ``random.Random(f"{seed}:{index}")``, so a customer's
story does not depend on how many others there are or in which order they are generated, and the
same seed always gives the same brand. Identifiers overlap the way they do in real brands so that
identity resolution has real work to do: anonymous browsing later tied to a phone, a Tmall buyer
who scans the parcel card and follows the official account, a store member who is added by a
staff member on WeCom, families sharing a phone and a store tablet shared by many members (these
two must *not* merge people).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from siyu.demo.brand import (
    CHANNELS,
    MINI_PROGRAM_APP_ID,
    MONTH_WEIGHTS,
    OFFICIAL_ACCOUNT_APP_ID,
    PRODUCTS,
    STORES,
    WECOM_CORP_ID,
    Product,
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("芳", "娜", "敏", "静", "丽", "婷", "雪", "琳", "欣", "悦", "佳", "颖", "晨", "露", "薇", "梓涵", "雨桐",
         "思琪")
CITIES = ("上海", "北京", "广州", "深圳", "杭州", "成都", "武汉", "南京", "重庆", "西安")
DAY = timedelta(days=1)
SHARED_TABLET = "store-tablet-jingan-01"


@dataclass
class Story:
    index: int
    channel: str
    messages: list[dict[str, Any]] = field(default_factory=list)


MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
                   "158", "159", "176", "177", "180", "181", "182", "185", "186", "187", "188", "189")


def _phone(rnd: random.Random) -> str:
    return rnd.choice(MOBILE_PREFIXES) + "".join(rnd.choice("0123456789") for _ in range(8))


def family_phone(seed: int, index: int) -> str:
    """Every 97th and 98th customer share a phone (a mother and daughter): it must not merge them."""
    return _phone(random.Random(f"{seed}:family:{index // 97}"))


def _pick_channel(rnd: random.Random) -> str:
    return rnd.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]


def _order_time(rnd: random.Random, start: datetime, end: datetime) -> datetime:
    """A purchase time between start and end, weighted by the brand's seasonality."""
    for _ in range(20):
        moment = start + (end - start) * rnd.random()
        if rnd.random() < MONTH_WEIGHTS[moment.month] / 2.6:
            return moment
    return start + (end - start) * rnd.random()


def _basket(rnd: random.Random, moment: datetime) -> list[Product]:
    items = rnd.sample(PRODUCTS[:9], k=rnd.choice((1, 1, 1, 2, 2, 3)))
    if moment.month == 6 and rnd.random() < 0.3:
        items.append(PRODUCTS[9])
    if moment.month == 11 and rnd.random() < 0.4:
        items.append(PRODUCTS[10])
    return items


def tell(seed: int, index: int, now: datetime) -> Story:
    rnd = random.Random(f"{seed}:{index}")
    channel = _pick_channel(rnd)
    story = Story(index, channel)
    counter = iter(range(10_000))
    start = now - timedelta(days=365) + timedelta(days=365 * rnd.random() ** 1.3)
    person = {
        "phone": family_phone(seed, index) if index % 97 in (0, 1) and index > 1 else _phone(rnd),
        "unionid": f"oU{seed}x{index:07d}",
        "anonymous": f"anon-{seed}-{index}",
        "member": f"M{seed % 100:02d}{index:08d}",
        "name": rnd.choice(SURNAMES) + rnd.choice(GIVEN),
        "city": rnd.choice(CITIES),
    }
    campaign = {"campaign": {"source": channel}}

    def emit(kind: str, at: datetime, **body: Any) -> None:
        message = {"type": kind, "messageId": f"demo-{seed}-{index}-{next(counter)}",
                   "timestamp": min(at, now).isoformat(), **body}
        story.messages.append(message)

    def profile(at: datetime, **extra: Any) -> None:
        traits = {"phone": person["phone"], "name": person["name"], "city": person["city"], **extra}
        emit("identify", at, anonymousId=person["anonymous"], traits=traits)

    def wechat(at: datetime, app: str) -> dict[str, Any]:
        return {"externalIds": [{"type": f"wechat_openid:{app}", "id": f"o{app[-4:]}{seed}x{index:07d}"}],
                "traits": {"wechat_unionid": person["unionid"]}}

    at = start
    if channel == "xiaohongshu":
        emit("page", at, anonymousId=person["anonymous"], name="KOL 笔记落地页", context=campaign)
        for _ in range(rnd.randint(1, 4)):
            at += timedelta(minutes=rnd.randint(1, 300))
            emit("track", at, anonymousId=person["anonymous"], event="Product Viewed",
                 properties={"sku": rnd.choice(PRODUCTS).sku}, context=campaign)
        if rnd.random() < 0.55:
            at += timedelta(hours=rnd.randint(1, 72))
            emit("track", at, anonymousId=person["anonymous"], event="Mini Program Login",
                 context=wechat(at, MINI_PROGRAM_APP_ID) | {"traits": {"wechat_unionid": person["unionid"],
                                                                      "phone": person["phone"]}})
    elif channel == "tmall_card":
        buyer = {"externalIds": [{"type": "platform_buyer_id:tmall", "id": f"tb_{seed}_{index}"}],
                 "traits": {"phone": person["phone"]}}
        products = _basket(rnd, at)
        emit("track", at, anonymousId=f"tmall-{seed}-{index}", event="Order Completed",
             properties=_order(rnd, products, "tmall", f"TM{seed}{index:08d}0"), context=buyer | campaign)
        at += timedelta(days=rnd.randint(2, 5))
        emit("track", at, anonymousId=person["anonymous"], event="Followed",
             properties={"scene": "tmall_card"}, context=wechat(at, OFFICIAL_ACCOUNT_APP_ID) | campaign)
        profile(at + timedelta(minutes=3))
    elif channel == "store":
        store = rnd.choice(STORES)
        emit("identify", at, userId=person["member"],
             anonymousId=SHARED_TABLET if rnd.random() < 0.08 else person["anonymous"],
             traits={"phone": person["phone"], "member_id": person["member"], "name": person["name"],
                     "store": store}, context=campaign)
        at += timedelta(minutes=rnd.randint(5, 60))
        emit("track", at, userId=person["member"], event="WeCom Contact Added", properties={"store": store},
             context={"externalIds": [{"type": f"wecom_external_userid:{WECOM_CORP_ID}",
                                       "id": f"wmDemo{seed}x{index:07d}"}]})
    elif channel == "staff_link":
        emit("track", at, anonymousId=person["anonymous"], event="WeCom Contact Added",
             properties={"staff": "小完子"}, context={
                 "externalIds": [{"type": f"wecom_external_userid:{WECOM_CORP_ID}", "id": f"wmDemo{seed}x{index:07d}"}],
                 "traits": {"wechat_unionid": person["unionid"]}} | campaign)
        profile(at + timedelta(hours=rnd.randint(1, 48)))
    else:  # search
        emit("page", at, anonymousId=person["anonymous"], name="品牌官网", context=campaign)
        if rnd.random() < 0.6:
            profile(at + timedelta(minutes=rnd.randint(1, 30)), email=f"fan{index}@mail{index % 7}.cn")
    _life(rnd, story, person, at, now, emit, wechat)
    return story


def _order(rnd: random.Random, products: list[Product], platform: str, order_id: str) -> dict[str, Any]:
    lines = [{"sku": p.sku, "name": p.name, "category": p.category, "price": p.price,
              "quantity": rnd.choice((1, 1, 1, 2))} for p in products]
    total = round(sum(line["price"] * line["quantity"] for line in lines), 2)
    return {"order_id": order_id, "total": total, "revenue": total, "currency": "CNY", "products": lines,
            "platform": platform}


def _life(rnd: random.Random, story: Story, person: dict[str, str], at: datetime, now: datetime, emit: Any,
          wechat: Any) -> None:
    """After the first touch: views, carts, repeat orders on the brand's cycle, opens, invites, unfollows."""
    if at >= now:
        return
    buyer = rnd.random() < 0.62
    loyal = buyer and rnd.random() < 0.35
    orders = (1 + (rnd.randint(1, 5) if loyal else 0)) if buyer else 0
    moment = at
    who = {"anonymousId": person["anonymous"]}
    for number in range(orders):
        moment = _order_time(rnd, moment + DAY * (1 if number == 0 else 25), min(moment + DAY * 120, now))
        if moment >= now:
            break
        products = _basket(rnd, moment)
        emit("track", moment - timedelta(minutes=rnd.randint(5, 120)), event="Product Viewed",
             properties={"sku": products[0].sku}, **who)
        emit("track", moment - timedelta(minutes=rnd.randint(1, 4)), event="Product Added",
             properties={"sku": products[0].sku, "price": products[0].price}, **who)
        emit("track", moment, event="Order Completed",
             properties=_order(rnd, products, "mini_program", f"MP{story.index:08d}{number}"), **who)
    if rnd.random() < 0.3:
        emit("track", at + DAY * rnd.randint(1, 30), event="Message Opened",
             properties={"message_type": "wechat_template"}, **who)
    if loyal and rnd.random() < 0.4:
        invited = rnd.randint(1, 6)
        for _ in range(invited):
            emit("track", at + DAY * rnd.randint(1, 60), event="Invite Sent", properties={"campaign": "老带新"}, **who)
    if rnd.random() < 0.12:
        emit("track", at + DAY * rnd.randint(3, 200), event="Unfollowed",
             context=wechat(at, OFFICIAL_ACCOUNT_APP_ID), **who)
    story.messages = [m for m in story.messages if m["timestamp"] <= now.isoformat()]
