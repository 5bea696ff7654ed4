"""A customer's year after the first touch: follows and unfollows of the official account,
product views, carts, orders (seasonal, repeat buyers on the brand's cycle), message opens and
invitations that went nowhere.

Pure functions of a ``random.Random``: the story is the same for the same seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from siyu.demo.brand import (
    MINI_PROGRAM_APP_ID,
    MONTH_WEIGHTS,
    OFFICIAL_ACCOUNT_APP_ID,
    PRODUCTS,
    REPURCHASE_DAYS,
    Product,
)

if TYPE_CHECKING:
    from siyu.demo.story import Person, Story

DAY = timedelta(days=1)
PEAK = max(MONTH_WEIGHTS.values())
MESSAGE_TYPES = ("wechat_template", "wecom_1v1", "sms", "community_group")


class OrderLine(TypedDict):
    """One of the ``products`` of Segment's ``Order Completed``."""

    sku: str
    name: str
    category: str
    price: float
    quantity: int


def order_time(rnd: random.Random, start: datetime, end: datetime) -> datetime:
    """A purchase time between start and end, weighted by the brand's seasonality (rejection
    sampling on :data:`MONTH_WEIGHTS`: 618 and Double 11 up, the Spring Festival down)."""
    for _ in range(20):
        moment = start + (end - start) * rnd.random()
        if rnd.random() < MONTH_WEIGHTS[moment.month] / PEAK:
            return moment
    return start + (end - start) * rnd.random()


def basket(rnd: random.Random, moment: datetime) -> list[Product]:
    """One to three everyday products, plus the festival gift set in June and November."""
    items = rnd.sample(PRODUCTS[:9], k=rnd.choice((1, 1, 1, 2, 2, 3)))
    if moment.month == 6 and rnd.random() < 0.3:
        items.append(PRODUCTS[9])
    if moment.month == 11 and rnd.random() < 0.4:
        items.append(PRODUCTS[10])
    return items


def order_properties(rnd: random.Random, products: list[Product], platform: str, order_id: str) -> dict[str, Any]:
    """Segment's ``Order Completed`` properties: ``total`` is the sum of the line items."""
    lines: list[OrderLine] = [{"sku": p.sku, "name": p.name, "category": p.category, "price": p.price,
                               "quantity": rnd.choice((1, 1, 1, 2))} for p in products]
    total = round(sum(line["price"] * line["quantity"] for line in lines), 2)
    return {"order_id": order_id, "total": total, "revenue": total, "currency": "CNY", "products": lines,
            "platform": platform}


def live(rnd: random.Random, story: Story, person: Person, at: datetime, browsing: float = 0.0) -> None:
    """Everything after the first touch at ``at``; ``browsing`` is the mean number of extra
    mini-program visits per person (none in the demo; the benchmarks raise it to reach the
    issue's 20 events per person with the same story)."""
    who = person.who(story.channel)
    _follow(rnd, story, person, at, who)
    buyer = rnd.random() < 0.62
    loyal = buyer and rnd.random() < 0.35
    _orders(rnd, story, person, at, (1 + (rnd.randint(1, 5) if loyal else 0)) if buyer else 0)
    for _ in range(rnd.choice((0, 0, 1, 1, 2, 4))):
        story.emit("track", at + DAY * rnd.uniform(1, 200), event="Message Opened",
                   properties={"message_type": rnd.choice(MESSAGE_TYPES)}, **who)
    if loyal and rnd.random() < 0.4:  # shares that nobody accepted (accepted ones start an "invite" story)
        for _ in range(rnd.randint(1, 4)):
            story.emit("track", at + DAY * rnd.uniform(1, 90), event="Invite Sent",
                       properties={"campaign": "老带新"}, **who)
    if browsing > 0:
        _browse(story, person, at, browsing)


def _browse(story: Story, person: Person, at: datetime, browsing: float) -> None:
    """Visits to the mini-program shop: the home page, one to three products, sometimes a cart.
    Heavy and light users (exponential visit counts) and fading interest (visits cluster after the
    first touch) as in any shop's logs. Drawn from a separate stream so the rest of the story is the
    same with and without them."""
    rnd = random.Random(f"{story.seed}:{story.index}:browse")
    who = person.who(story.channel)
    for _ in range(round(rnd.expovariate(1 / browsing))):
        moment = at + DAY * rnd.expovariate(1 / 60)
        story.emit("page", moment, name="小程序首页", **who)
        for step in range(rnd.choice((1, 1, 2, 3))):
            product = rnd.choice(PRODUCTS[:9])
            moment += timedelta(minutes=rnd.randint(1, 6))
            story.emit("track", moment, event="Product Viewed",
                       properties={"sku": product.sku, "price": product.price}, **who)
            if step == 0 and rnd.random() < 0.2:
                story.emit("track", moment + timedelta(minutes=1), event="Product Added",
                           properties={"sku": product.sku, "price": product.price, "quantity": 1}, **who)


def _follow(rnd: random.Random, story: Story, person: Person, at: datetime, who: dict[str, str]) -> None:
    """About half follow the official account (Tmall card customers already did); some unfollow
    later (掉粉), most often within the first weeks."""
    context = person.wechat(OFFICIAL_ACCOUNT_APP_ID)
    followed = story.channel == "tmall_card"
    if not followed and rnd.random() < 0.45:
        followed_at = at + DAY * rnd.uniform(0, 30)
        story.emit("track", followed_at, event="Followed", properties={"scene": "menu_or_article"},
                   context=context, **who)
        followed, at = True, followed_at
    if followed and rnd.random() < 0.15:
        story.emit("track", at + DAY * rnd.expovariate(1 / 20), event="Unfollowed", context=context, **who)


def _orders(rnd: random.Random, story: Story, person: Person, at: datetime, orders: int) -> None:
    """Each order is preceded by a product view and an add to cart; repeat orders follow the
    brand's repurchase cycle. Orders are paid in the mini program, so they carry its openid and
    the unionid: that is how a store member's or a Tmall buyer's WeChat joins their profile."""
    who = person.who(story.channel)
    paid_in = person.wechat(MINI_PROGRAM_APP_ID)
    moment = at
    for number in range(orders):
        gap = DAY * (1 if number == 0 else REPURCHASE_DAYS[0])
        moment = order_time(rnd, moment + gap, moment + gap + DAY * REPURCHASE_DAYS[1])
        if moment > story.now:
            return
        products = basket(rnd, moment)
        story.emit("track", moment - timedelta(minutes=rnd.randint(5, 120)), event="Product Viewed",
                   properties={"sku": products[0].sku, "price": products[0].price}, **who)
        story.emit("track", moment - timedelta(minutes=rnd.randint(1, 4)), event="Product Added",
                   properties={"sku": products[0].sku, "price": products[0].price, "quantity": 1}, **who)
        order_id = f"MP{story.seed}x{story.index:08d}x{number}"
        story.emit("track", moment, event="Order Completed", **who, context=paid_in,
                   properties=order_properties(rnd, products, "mini_program", order_id))
