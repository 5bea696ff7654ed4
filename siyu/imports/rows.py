"""Turning rows of an export into Segment messages: pure functions, no database.

An order becomes an ``Order Completed`` track call (or ``Order Cancelled`` when the platform says
it was closed or unpaid) with Segment e-commerce properties: order_id, total, revenue, currency,
products (line items), status, platform; and the buyer's identifiers: the phone (as
``context.traits.phone``), the platform buyer id (``context.externalIds``,
``platform_buyer_id:<platform>``) and the email. A customer row becomes an identify call.
Message ids derive from the platform's own ids, so importing the same order twice is a no-op.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from siyu.imports.presets import Preset

DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                "%Y/%m/%d", "%Y-%m-%d %H:%M:%S %z", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日")


class RowError(ValueError):
    """Why a row could not be imported; written to the error report next to the row."""


@dataclass
class Mapped:
    """Where each field lives in this file's rows."""

    preset: Preset
    index: dict[str, int]

    def get(self, row: list[str], field: str) -> str:
        position = self.index.get(field)
        return row[position].strip() if position is not None and position < len(row) else ""


def map_columns(preset: Preset, header: list[str]) -> Mapped:
    positions = {name.strip(): i for i, name in enumerate(header)}
    index: dict[str, int] = {}
    for field_name, candidates in preset.columns.items():
        for candidate in candidates:
            if candidate in positions:
                index[field_name] = positions[candidate]
                break
    missing = [f for f in preset.required if f not in index]
    if missing:
        from siyu.imports.errors import ImportError_

        wanted = "; ".join(f"{f} (one of: {', '.join(preset.columns.get(f, (f,)))})" for f in missing)
        raise ImportError_(f"The file has no column for {wanted}. Is this a {preset.name} {preset.kind} export? "
                           "Choose another --preset or give a --mapping file.", code="imports.missing_columns",
                           details={"missing": missing, "header": header[:50]})
    if not index:
        from siyu.imports.errors import ImportError_

        raise ImportError_("None of the file's columns match the preset.", code="imports.missing_columns",
                           details={"header": header[:50]})
    return Mapped(preset, index)


def parse_amount(text: str, field: str) -> float:
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").replace("$", "").strip()
    if not cleaned:
        return 0.0
    try:
        return round(float(cleaned), 2)
    except ValueError:
        raise RowError(f"{field}: {text!r} is not an amount") from None


def parse_time(text: str, preset: Preset, zone: ZoneInfo) -> datetime | None:
    if not text:
        return None
    for pattern in preset.date_formats + DATE_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(f"{text!r} is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def message_id(*parts: str) -> str:
    return "import-" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def order_message(mapped: Mapped, rows: list[list[str]], zone: ZoneInfo) -> dict[str, Any]:
    """One order (one row, or the rows of its line items) as a track call."""
    preset = mapped.preset
    first = rows[0]
    order_id = mapped.get(first, "order_id")
    if not order_id:
        raise RowError("order_id is empty")
    status = next((mapped.get(r, "status") for r in rows if mapped.get(r, "status")), "")
    moment = parse_time(mapped.get(first, "paid_at"), preset, zone) or parse_time(
        mapped.get(first, "created_at"), preset, zone)
    if moment is None:
        raise RowError("the order has neither a payment time nor a creation time")
    products = []
    for row in rows:
        name = mapped.get(row, "product_name")
        if not name and not mapped.get(row, "sku"):
            continue
        quantity_text = mapped.get(row, "quantity") or "1"
        try:
            quantity = int(float(quantity_text))
        except ValueError:
            raise RowError(f"quantity: {quantity_text!r} is not a number") from None
        item: dict[str, Any] = {"name": name, "quantity": quantity}
        if mapped.get(row, "sku"):
            item["sku"] = mapped.get(row, "sku")
        if mapped.get(row, "price"):
            item["price"] = parse_amount(mapped.get(row, "price"), "price")
        products.append(item)
    total = parse_amount(next((mapped.get(r, "total") for r in rows if mapped.get(r, "total")), ""), "total")
    if total == 0.0 and products and all("price" in p for p in products):
        total = round(sum(p["price"] * p["quantity"] for p in products), 2)
    platform = preset.platform or mapped.get(first, "channel") or "import"
    cancelled = bool(status) and any(s.lower() == status.lower() for s in preset.cancelled_statuses)
    context: dict[str, Any] = {"traits": {}}
    external = []
    buyer = mapped.get(first, "buyer_id")
    if buyer and preset.platform:
        external.append({"type": f"platform_buyer_id:{preset.platform}", "id": buyer})
    for field in ("phone", "email", "name"):
        value = next((mapped.get(r, field) for r in rows if mapped.get(r, field)), "")
        if value:
            context["traits"][field] = value
    if external:
        context["externalIds"] = external
    user_id = mapped.get(first, "user_id")
    anonymous = f"import-{platform}-{buyer or order_id}"
    properties = {"order_id": order_id, "total": total, "revenue": total,
                  "currency": mapped.get(first, "currency") or "CNY", "products": products, "status": status,
                  "platform": platform, "channel": platform}
    message: dict[str, Any] = {
        "type": "track", "event": "Order Cancelled" if cancelled else "Order Completed",
        "messageId": message_id("orders", platform, order_id), "timestamp": moment.isoformat(),
        "properties": properties, "context": context, "anonymousId": anonymous,
    }
    if user_id:
        message["userId"] = user_id
    return message


def customer_message(mapped: Mapped, row: list[str], zone: ZoneInfo) -> dict[str, Any]:
    traits: dict[str, Any] = {}
    for field in ("phone", "email", "name", "gender", "city", "member_id", "wechat_unionid", "channel"):
        value = mapped.get(row, field)
        if value:
            traits[field] = value
    birthday = mapped.get(row, "birthday")
    if birthday:
        moment = parse_time(birthday, mapped.preset, zone)
        traits["birthday"] = moment.date().isoformat() if moment else birthday
    tags = [t.strip() for t in mapped.get(row, "tags").replace("，", ",").split(",") if t.strip()]
    user_id = mapped.get(row, "user_id")
    key = user_id or traits.get("member_id") or traits.get("phone") or traits.get("email") or traits.get(
        "wechat_unionid")
    if not key:
        raise RowError("the row has no identifier (user_id, member_id, phone, email or wechat_unionid)")
    message: dict[str, Any] = {"type": "identify", "messageId": message_id("customers", key, repr(sorted(
        traits.items())), ",".join(tags)), "traits": traits, "anonymousId": f"import-customer-{key}"}
    if user_id:
        message["userId"] = user_id
    created = mapped.get(row, "created_at")
    if created:
        moment = parse_time(created, mapped.preset, zone)
        if moment:
            message["timestamp"] = moment.isoformat()
    if traits.get("channel"):
        message["context"] = {"campaign": {"source": traits["channel"]}}
    message["_tags"] = tags
    return message
