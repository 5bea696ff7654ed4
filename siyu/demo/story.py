"""One customer's year, as the Segment messages the brand's systems would have sent.

Each person is generated from their own ``random.Random(f"{seed}:{index}")`` streams, so a
customer's story does not depend on how many others there are or in which order they are
generated, and the same seed always gives the same brand. Identifiers overlap the way they do in
real brands so that identity resolution has real work to do: anonymous browsing later tied to a
phone in the mini program, a Tmall buyer who scans the parcel card and follows the official
account, a store member who is added by a staff member on WeCom, a friend's invitation opened in
WeChat. Families sharing a phone and a store tablet shared by many members must *not* merge people.

This module decides the first touch (the channel, recorded as ``context.campaign.source`` on the
first event); :mod:`siyu.demo.life` tells the rest of the year.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from siyu.demo.brand import CHANNELS, MINI_PROGRAM_APP_ID, OFFICIAL_ACCOUNT_APP_ID, PRODUCTS, STORES, WECOM_CORP_ID
from siyu.demo.life import basket, live, order_properties

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ("芳", "娜", "敏", "静", "丽", "婷", "雪", "琳", "欣", "悦", "佳", "颖", "晨", "露", "薇", "梓涵", "雨桐",
         "思琪")
CITIES = ("上海", "北京", "广州", "深圳", "杭州", "成都", "武汉", "南京", "重庆", "西安")
MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157",
                   "158", "159", "176", "177", "180", "181", "182", "185", "186", "187", "188", "189")
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "foxmail.com", "sina.com", "outlook.com")
SHARED_TABLET = "store-tablet-jingan-01"  # one store's sign-up tablet: its device id must not glue members
YEAR = timedelta(days=365)


@dataclass(frozen=True)
class Arrival:
    """How and when a person first met the brand; ``inviter`` is the index of who invited them."""
    channel: str
    at: datetime
    inviter: int | None = None


@dataclass
class Story:
    """A person's messages in the order they were told (the generator sorts them by time)."""
    seed: int
    index: int
    now: datetime
    channel: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    _counter: int = 0

    def emit(self, kind: str, at: datetime, **body: Any) -> None:
        """Record a message; one that would happen after ``now`` has not happened yet."""
        if at > self.now:
            return
        self.messages.append({"type": kind, "messageId": f"demo-{self.seed}-{self.index}-{self._counter}",
                              "timestamp": at.isoformat(), **body})
        self._counter += 1


@dataclass(frozen=True)
class Person:
    index: int
    phone: str
    unionid: str
    anonymous: str
    member: str
    name: str
    city: str
    email: str | None

    def who(self, channel: str) -> dict[str, str]:
        """The id the brand's systems know this person by after the first touch: stores key
        everything on the member id; the mini program and the web on the device's anonymous id."""
        return {"userId": self.member} if channel == "store" else {"anonymousId": self.anonymous}

    def wechat(self, app: str) -> dict[str, Any]:
        """``context`` of a call from WeChat: the app's openid, and the unionid as a trait."""
        return {"externalIds": [{"type": f"wechat_openid:{app}", "id": f"o{app[-4:]}x{self.unionid[2:]}"}],
                "traits": {"wechat_unionid": self.unionid}}


def _phone(rnd: random.Random) -> str:
    return rnd.choice(MOBILE_PREFIXES) + "".join(rnd.choice("0123456789") for _ in range(8))


def family_phone(seed: int, index: int) -> str:
    """Customers 97k and 97k+1 share a phone (a mother and daughter): it must not merge them."""
    return _phone(random.Random(f"{seed}:family:{index // 97}"))


def person_of(seed: int, index: int) -> Person:
    rnd = random.Random(f"{seed}:{index}:person")
    phone = _phone(rnd)
    if index % 97 in (0, 1) and index > 1:
        phone = family_phone(seed, index)
    return Person(index=index, phone=phone, unionid=f"oU{seed}x{index:07d}", anonymous=f"anon-{seed}-{index}",
                  member=f"M{seed % 100:02d}{index:08d}", name=rnd.choice(SURNAMES) + rnd.choice(GIVEN),
                  city=rnd.choice(CITIES),
                  email=f"{rnd.choice('abcdefghjkmnpqrstwxyz')}{index}@{rnd.choice(EMAIL_DOMAINS)}"
                  if rnd.random() < 0.3 else None)


@lru_cache(maxsize=4096)
def arrival(seed: int, index: int, now: datetime) -> Arrival:
    """First touch. New customers arrive more in recent months (the brand is growing); an invited
    customer arrives a week or more after their inviter did (an inviter is always an earlier index,
    so the chain of invitations ends)."""
    rnd = random.Random(f"{seed}:{index}:arrival")
    channel = rnd.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
    at = now - YEAR + YEAR * rnd.random() ** 0.8
    if channel != "invite":
        return Arrival(channel, at)
    inviter = rnd.randrange(index) if index > 0 else None
    if inviter is not None:
        invited_at = max(at, arrival(seed, inviter, now).at + timedelta(days=rnd.randint(7, 40), hours=rnd.random()))
        if invited_at < now:
            return Arrival(channel, invited_at, inviter)
    return Arrival("search", at)


def tell(seed: int, index: int, now: datetime, browsing: float = 0.0) -> Story:
    came = arrival(seed, index, now)
    person = person_of(seed, index)
    rnd = random.Random(f"{seed}:{index}")
    story = Story(seed, index, now, came.channel)
    first_touch = _FIRST_TOUCH[came.channel]
    at = first_touch(rnd, story, person, came)
    live(rnd, story, person, at, browsing)
    return story


def _identify(story: Story, person: Person, at: datetime, **extra: Any) -> None:
    traits = {"phone": person.phone, "name": person.name, "city": person.city, **extra}
    if person.email:
        traits["email"] = person.email
    story.emit("identify", at, anonymousId=person.anonymous, traits=traits)


def _campaign(channel: str, **more: Any) -> dict[str, Any]:
    return {"campaign": {"source": channel, **more}}


def _xiaohongshu(rnd: random.Random, story: Story, person: Person, came: Arrival) -> datetime:
    """A KOL post's link, some product pages, then (for half) a mini program login with the phone."""
    at = came.at
    kol = f"KOL-{rnd.randint(1, 40):02d}"
    story.emit("page", at, anonymousId=person.anonymous, name="KOL 笔记落地页",
               context=_campaign("xiaohongshu", name=kol, medium="kol_post"))
    for _ in range(rnd.randint(1, 4)):
        at += timedelta(minutes=rnd.randint(1, 300))
        story.emit("track", at, anonymousId=person.anonymous, event="Product Viewed",
                   properties={"sku": rnd.choice(PRODUCTS).sku})
    if rnd.random() < 0.55:
        at += timedelta(hours=rnd.randint(1, 72))
        context = person.wechat(MINI_PROGRAM_APP_ID) | _campaign("xiaohongshu", name=kol, medium="kol_post")
        context["traits"]["phone"] = person.phone  # the mini program's one-tap phone login
        story.emit("track", at, anonymousId=person.anonymous, event="Mini Program Login", context=context)
    return at


def _tmall_card(rnd: random.Random, story: Story, person: Person, came: Arrival) -> datetime:
    """A Tmall order (buyer id + the phone on the parcel), then the QR card in the parcel: a follow
    of the official account, then the phone in the mini program. The two profiles merge on the phone.
    The order already counts as the ``tmall_card`` channel: a buyer whose parcel has not arrived yet
    is a customer the card will bring in."""
    at = came.at
    buyer = {"externalIds": [{"type": "platform_buyer_id:tmall", "id": f"tb_{story.seed}_{person.index}"}],
             "traits": {"phone": person.phone}}
    story.emit("track", at, anonymousId=f"tmall-{story.seed}-{person.index}", event="Order Completed",
               properties=order_properties(rnd, basket(rnd, at), "tmall", f"TM{story.seed}{person.index:08d}0"),
               context=buyer | _campaign("tmall_card", medium="tmall_order"))
    at += timedelta(days=rnd.randint(2, 5), minutes=rnd.randint(0, 600))
    story.emit("track", at, anonymousId=person.anonymous, event="Followed", properties={"scene": "tmall_card_qr"},
               context=person.wechat(OFFICIAL_ACCOUNT_APP_ID) | _campaign("tmall_card", medium="package_card"))
    _identify(story, person, at + timedelta(minutes=3))
    return at


def _store(rnd: random.Random, story: Story, person: Person, came: Arrival) -> datetime:
    """Sign-up as a member at a store (some on the store's shared tablet), then a staff member adds
    the customer on WeCom."""
    at, store = came.at, rnd.choice(STORES)
    device = SHARED_TABLET if rnd.random() < 0.08 else person.anonymous
    traits = {"phone": person.phone, "member_id": person.member, "name": person.name, "store": store}
    story.emit("identify", at, userId=person.member, anonymousId=device, traits=traits,
               context=_campaign("store", name=store))
    at += timedelta(minutes=rnd.randint(5, 60))
    story.emit("track", at, userId=person.member, event="WeCom Contact Added", properties={"store": store},
               context={"externalIds": [{"type": f"wecom_external_userid:{WECOM_CORP_ID}",
                                         "id": f"wmDemo{story.seed}x{person.index:07d}"}]})
    return at


def _staff_link(rnd: random.Random, story: Story, person: Person, came: Arrival) -> datetime:
    """The 小完子 persona's WeCom contact link: the external user id and the unionid, then the phone."""
    at = came.at
    story.emit("track", at, anonymousId=person.anonymous, event="WeCom Contact Added", properties={"staff": "小完子"},
               context={"externalIds": [{"type": f"wecom_external_userid:{WECOM_CORP_ID}",
                                         "id": f"wmDemo{story.seed}x{person.index:07d}"}],
                        "traits": {"wechat_unionid": person.unionid}} | _campaign("staff_link", name="小完子"))
    _identify(story, person, at + timedelta(hours=rnd.randint(1, 48)))
    return at


def _search(rnd: random.Random, story: Story, person: Person, came: Arrival) -> datetime:
    at = came.at
    story.emit("page", at, anonymousId=person.anonymous, name="品牌官网", context=_campaign("search", medium="organic"))
    if rnd.random() < 0.6:
        _identify(story, person, at + timedelta(minutes=rnd.randint(1, 30)))
    return at


def _invite(rnd: random.Random, story: Story, person: Person, came: Arrival) -> datetime:
    """老带新: the inviter shares a link (their ``Invite Sent``), the friend opens it in WeChat and
    accepts in the mini program, then gives a phone to claim the new-customer gift."""
    assert came.inviter is not None
    inviter = person_of(story.seed, came.inviter)
    inviter_ids = inviter.who(arrival(story.seed, came.inviter, story.now).channel)
    at = came.at
    story.emit("track", at - timedelta(minutes=rnd.randint(5, 600)), event="Invite Sent",
               properties={"campaign": "老带新", "invitee": person.anonymous}, **inviter_ids)
    story.emit("track", at, anonymousId=person.anonymous, event="Invite Accepted",
               properties={"campaign": "老带新", "inviter": next(iter(inviter_ids.values()))},
               context=person.wechat(MINI_PROGRAM_APP_ID) | _campaign("invite", medium="referral"))
    _identify(story, person, at + timedelta(minutes=rnd.randint(1, 20)))
    return at


_FIRST_TOUCH = {"xiaohongshu": _xiaohongshu, "tmall_card": _tmall_card, "store": _store, "staff_link": _staff_link,
                "search": _search, "invite": _invite}
