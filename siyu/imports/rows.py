"""Turning rows of an export into Segment messages: pure functions, no database.

An order becomes an ``Order Completed`` track call (or ``Order Cancelled`` when the platform says
it was closed, unpaid or refunded, so that it never counts as spend) with Segment's e-commerce
properties: order_id, total, revenue, currency, products (line items), status, platform, channel;
and the buyer's identifiers: the phone (``context.traits.phone``), the platform buyer id
(``context.externalIds``, ``platform_buyer_id:<platform>``) and the email. A customer row becomes
an identify call. Message ids derive from the platform's own order ids, so importing the same order
twice is a no-op.

Masked values: since PIPL (2021) Tmall and Youzan exports often mask phones and buyer names
(``138****8000``, ``t**1``). A masked value is not an identifier — thousands of strangers share
``t**1`` — so it is dropped from identifiers and traits instead of failing the row or, worse,
gluing those strangers into one profile.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from siyu.imports.errors import ImportError_
from siyu.imports.presets import Preset

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S",
                "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S %z",
                "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d")
MASK = "*"

Fields = dict[str, str]


class RowError(ValueError):
    """Why a row could not be imported; written to the error report next to the row."""


@dataclass
class Mapped:
    """Where each field lives in this file's rows."""

    preset: Preset
    index: dict[str, int]

    def fields(self, row: list[str]) -> Fields:
        """The row's mapped fields, empty ones left out: one pass per row instead of one per lookup."""
        width = len(row)
        found = {}
        for name, position in self.index.items():
            if position < width:
                value = row[position]
                if value:
                    found[name] = value
        return found


def map_columns(preset: Preset, header: list[str]) -> Mapped:
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        positions.setdefault(name.strip(), i)
    index: dict[str, int] = {}
    for field_name, candidates in preset.columns.items():
        for candidate in candidates:
            if candidate in positions:
                index[field_name] = positions[candidate]
                break
    missing = [f for f in preset.required if f not in index]
    if missing:
        wanted = "; ".join(f"{f} (one of: {', '.join(preset.columns.get(f, (f,)))})" for f in missing)
        raise ImportError_(f"The file has no column for {wanted}. Is this a {preset.name} {preset.kind} export? "
                           "Choose another --preset or give a --mapping file.", code="imports.missing_columns",
                           details={"missing": missing, "header": header[:50]})
    if not index:
        raise ImportError_(f"None of the file's columns match the {preset.name} {preset.kind} preset.",
                           code="imports.missing_columns", details={"header": header[:50]})
    return Mapped(preset, index)


def parse_amount(text: str, field: str) -> float:
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").replace("$", "").replace("元", "").strip()
    if not cleaned:
        return 0.0
    try:
        amount = round(float(cleaned), 2)
    except ValueError:
        raise RowError(f"{field}: {text!r} is not an amount") from None
    if amount != amount or abs(amount) > 1e12:  # NaN, inf, or more than any order could cost
        raise RowError(f"{field}: {text!r} is not an amount")
    return amount


def _first_format(text: str, patterns: tuple[str, ...]) -> datetime | None:
    for pattern in patterns:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def parse_time(text: str, preset: Preset, zone: ZoneInfo) -> datetime | None:
    """A zone-less time is in the workspace's zone. ISO first: it is C-fast and what most exports use."""
    if not text:
        return None
    moment = _first_format(text, preset.date_formats)  # a mapping's own format wins over guessing
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = _first_format(text, DATE_FORMATS)
    if moment is None:
        raise RowError(f"{text!r} is not a date and time")
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def message_id(*parts: str) -> str:
    return "import-" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def unmasked(value: str | None) -> str | None:
    return value if value and MASK not in value else None


def first_of(rows: list[Fields], field: str) -> str:
    for row in rows:
        value = row.get(field)
        if value:
            return value
    return ""


def line_items(rows: list[Fields]) -> list[dict[str, Any]]:
    products = []
    for row in rows:
        name, sku = row.get("product_name", ""), row.get("sku")
        if not name and not sku:
            continue
        quantity_text = row.get("quantity") or "1"
        try:
            quantity = int(float(quantity_text))
        except ValueError:
            raise RowError(f"quantity: {quantity_text!r} is not a number") from None
        item: dict[str, Any] = {"name": name, "quantity": quantity}
        if sku:
            item["sku"] = sku
        if row.get("price"):
            item["price"] = parse_amount(row["price"], "price")
        products.append(item)
    return products


def is_cancelled(preset: Preset, status: str, rows: list[Fields]) -> bool:
    if first_of(rows, "cancelled_at"):  # Shopify's "Cancelled at"
        return True
    lowered = status.lower()
    return bool(status) and any(s.lower() == lowered for s in preset.cancelled_statuses)


def order_message(mapped: Mapped, rows: list[Fields], zone: ZoneInfo) -> dict[str, Any]:
    """One order (one row, or the rows of its line items) as a track call."""
    preset = mapped.preset
    first = rows[0]
    order_id = first.get("order_id", "")
    if not order_id:
        raise RowError("order_id is empty")
    status = first_of(rows, "status")
    moment = parse_time(first_of(rows, "paid_at"), preset, zone) or parse_time(
        first_of(rows, "created_at"), preset, zone)
    if moment is None:
        raise RowError("the order has neither a payment time nor a creation time")
    products = line_items(rows)
    total = parse_amount(first_of(rows, "total"), "total")
    if total == 0.0 and products and all("price" in p for p in products):
        total = round(sum(p["price"] * p["quantity"] for p in products), 2)
    platform = preset.platform or first.get("channel") or "import"
    traits = {f: v for f in ("phone", "email") if (v := unmasked(first_of(rows, f)))}
    if first_of(rows, "name"):
        traits["name"] = first_of(rows, "name")
    context: dict[str, Any] = {"traits": traits}
    buyer = unmasked(first.get("buyer_id"))
    if buyer and preset.platform:
        context["externalIds"] = [{"type": f"platform_buyer_id:{preset.platform}", "id": buyer}]
    properties = {"order_id": order_id, "total": total, "revenue": total,
                  "currency": first_of(rows, "currency") or "CNY", "products": products, "status": status,
                  "platform": platform, "channel": platform}
    message: dict[str, Any] = {
        "type": "track", "event": "Order Cancelled" if is_cancelled(preset, status, rows) else "Order Completed",
        "messageId": message_id("orders", platform, order_id), "timestamp": moment.isoformat(),
        "properties": properties, "context": context,
        # Segment needs userId or anonymousId; a per-buyer id never glues two buyers together.
        "anonymousId": f"import-{platform}-{buyer or order_id}",
    }
    if first.get("user_id"):
        message["userId"] = first["user_id"]
    return message


CUSTOMER_TRAITS = ("phone", "email", "name", "gender", "city", "member_id", "wechat_unionid", "channel")
IDENTIFYING = ("phone", "email", "member_id", "wechat_unionid")


def customer_message(mapped: Mapped, row: Fields, zone: ZoneInfo) -> dict[str, Any]:
    """A customer row as an identify call.

    Its message id hashes the person's key and the row's content: the same row imported twice is a
    duplicate, a corrected row (a new city, a new tag) is applied as an update.
    """
    traits: dict[str, Any] = {}
    for field in CUSTOMER_TRAITS:
        value = row.get(field)
        if value and (field not in IDENTIFYING or MASK not in value):
            traits[field] = value
    birthday = row.get("birthday")
    if birthday:
        moment = parse_time(birthday, mapped.preset, zone)
        traits["birthday"] = moment.date().isoformat() if moment else birthday
    tags = [t.strip() for t in row.get("tags", "").replace("，", ",").split(",") if t.strip()]
    user_id = row.get("user_id")
    key = user_id or next((traits[f] for f in ("member_id", "phone", "email", "wechat_unionid") if f in traits), None)
    if not key:
        raise RowError("the row has no identifier (user_id, member_id, phone, email or wechat_unionid)")
    message: dict[str, Any] = {"type": "identify", "messageId": message_id("customers", key, repr(sorted(
        traits.items())), ",".join(tags)), "traits": traits, "anonymousId": f"import-customer-{key}"}
    if user_id:
        message["userId"] = user_id
    created = parse_time(row.get("created_at", ""), mapped.preset, zone)
    if created:
        message["timestamp"] = created.isoformat()
    if traits.get("channel"):
        message["context"] = {"campaign": {"source": traits["channel"]}}
    message["_tags"] = tags
    return message
