"""Column mappings for the exports operators actually have.

Each field lists the header names it may appear under, first match wins. Tmall's seller-centre
order report (订单报表) has one row per order; Youzan's order export likewise; Shopify's orders
export has one row per line item, with order-level fields on the first row of each order
(grouped by ``Name``). The ``siyu`` presets are our own plain headers for hand-made files; a
custom mapping file (JSON or YAML) names the columns of anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from siyu.imports.errors import ImportError_

ORDER_FIELDS = ("order_id", "buyer_id", "phone", "email", "name", "total", "currency", "status", "created_at",
                "paid_at", "product_name", "sku", "quantity", "price", "address", "channel", "user_id", "cancelled_at")
CUSTOMER_FIELDS = ("user_id", "member_id", "phone", "email", "name", "gender", "birthday", "city", "channel",
                   "wechat_unionid", "tags", "created_at")


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str  # orders | customers
    columns: dict[str, tuple[str, ...]]
    platform: str | None = None  # scope of platform_buyer_id, and the order's channel
    required: tuple[str, ...] = ()
    line_items: bool = False  # one row per line item, grouped by order_id
    date_formats: tuple[str, ...] = ()
    paid_statuses: tuple[str, ...] = ()  # statuses that mean the sale happened; empty: all but cancelled
    cancelled_statuses: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


# 淘宝/天猫 卖家中心 → 已卖出的宝贝 → 批量导出 → 订单报表 (one row per order). Newer Qianniu exports
# rename a few columns (买家下单时间, 买家付款时间, 买家实付金额): both spellings are listed.
TMALL = Preset(
    "tmall", "orders", platform="tmall", required=("order_id",),
    columns={
        "order_id": ("订单编号", "订单号"), "buyer_id": ("买家会员名", "买家昵称"),
        "total": ("买家实际支付金额", "买家实付金额", "实付金额", "总金额", "买家应付货款"), "status": ("订单状态",),
        "name": ("收货人姓名", "收货人"), "phone": ("联系手机", "手机号", "联系电话"), "address": ("收货地址",),
        "created_at": ("订单创建时间", "买家下单时间", "创建时间"),
        "paid_at": ("订单付款时间", "买家付款时间", "付款时间"),
        "product_name": ("宝贝标题", "商品标题"), "quantity": ("宝贝总数量", "宝贝数量"), "sku": ("商家编码",),
    },
    cancelled_statuses=("交易关闭", "等待买家付款"),
)
# 有赞 订单 → 导出: the 订单维度 report has one row per order, the 商品维度 report one row per line item
# with 订单号 repeated, so rows are grouped by order id. 买家昵称 is a display name, not an account:
# it is never a buyer id (two 小王 are not one person).
YOUZAN = Preset(
    "youzan", "orders", platform="youzan", required=("order_id",), line_items=True,
    columns={
        "order_id": ("订单号", "订单编号"), "buyer_id": ("买家ID", "粉丝ID", "客户ID"),
        "total": ("订单实付金额", "实付金额", "订单实收金额", "应收订单金额", "订单金额"), "status": ("订单状态",),
        "name": ("收货人/提货人", "收货人姓名", "收货人", "买家姓名"),
        "phone": ("买家手机号", "收货人手机号/提货人手机号", "收货人手机号", "手机号"),
        "address": ("详细收货地址/提货地址", "详细收货地址", "收货地址"),
        "created_at": ("订单创建时间", "下单时间"), "paid_at": ("买家付款时间", "付款时间"),
        "product_name": ("商品名称", "全部商品名称"), "quantity": ("商品数量", "数量"), "price": ("商品单价", "单价"),
        "sku": ("规格编码", "商品编码"),
    },
    cancelled_statuses=("已关闭", "交易关闭", "待付款", "待支付"),
)
# Shopify Admin → Orders → Export: one row per line item; order-level fields (Email, Financial
# Status, Total, Paid at) only on the first row of each order, grouped by Name (#1001). "Id" is the
# order's id, not the customer's: Shopify's export has no customer id, the email is the person.
SHOPIFY = Preset(
    "shopify", "orders", platform="shopify", required=("order_id",), line_items=True,
    columns={
        "order_id": ("Name",), "email": ("Email",), "status": ("Financial Status",), "paid_at": ("Paid at",),
        "created_at": ("Created at",), "total": ("Total",), "currency": ("Currency",),
        "product_name": ("Lineitem name",), "quantity": ("Lineitem quantity",), "price": ("Lineitem price",),
        "sku": ("Lineitem sku",), "name": ("Billing Name", "Shipping Name"),
        "phone": ("Phone", "Billing Phone", "Shipping Phone"), "cancelled_at": ("Cancelled at",),
    },
    cancelled_statuses=("voided", "refunded", "pending", "expired"),
)
SIYU_ORDERS = Preset(
    "siyu", "orders", required=("order_id",), line_items=True,
    columns={f: (f, f.replace("_", " ")) for f in ORDER_FIELDS},
    cancelled_statuses=("cancelled", "canceled", "refunded"),
)
SIYU_CUSTOMERS = Preset(
    "siyu", "customers", columns={f: (f, f.replace("_", " ")) for f in CUSTOMER_FIELDS} | {
        "phone": ("phone", "手机号", "手机", "联系电话"), "name": ("name", "姓名", "客户姓名"),
        "email": ("email", "邮箱"), "member_id": ("member_id", "会员号", "会员卡号"), "gender": ("gender", "性别"),
        "birthday": ("birthday", "生日"), "city": ("city", "城市"), "tags": ("tags", "标签"),
        "channel": ("channel", "渠道", "来源")},
)

# 有赞 客户 → 客户列表 → 导出.
YOUZAN_CUSTOMERS = Preset(
    "youzan", "customers", required=("phone",),
    columns={"phone": ("客户手机号", "手机号"), "name": ("客户姓名", "客户昵称"), "birthday": ("客户生日", "生日"),
             "gender": ("客户性别", "性别"), "tags": ("标签",), "channel": ("来源渠道",),
             "created_at": ("成为客户时间",), "city": ("所属区域", "微信地域")},
)

PRESETS: dict[tuple[str, str], Preset] = {(p.kind, p.name): p for p in (TMALL, YOUZAN, SHOPIFY, SIYU_ORDERS,
                                                                          SIYU_CUSTOMERS, YOUZAN_CUSTOMERS)}


def preset_for(kind: str, name: str) -> Preset:
    try:
        return PRESETS[(kind, name)]
    except KeyError:
        known = ", ".join(sorted(n for k, n in PRESETS if k == kind))
        raise ImportError_(f"No {kind} preset {name!r}. Presets for {kind}: {known}; or give --mapping.",
                           code="imports.unknown_preset") from None


def load_mapping(path: Path, kind: str) -> Preset:
    """A custom mapping file: ``{"columns": {"order_id": "单号", ...}, "platform": "jd", "date_format": "..."}``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ImportError_(f"Cannot read the mapping file {path}: {error.strerror}.",
                           code="imports.bad_mapping") from None
    return mapping_from_text(text, kind, yaml=path.suffix.lower() in (".yaml", ".yml"))


def mapping_from_text(text: str, kind: str, *, yaml: bool = False) -> Preset:
    try:
        if yaml:
            import yaml as pyyaml

            data = pyyaml.safe_load(text)
        else:
            data = orjson.loads(text)
    except Exception as error:  # noqa: BLE001 - any parse error becomes a clear message
        raise ImportError_(f"The mapping is not valid {'YAML' if yaml else 'JSON'}: {error}",
                           code="imports.bad_mapping") from None
    allowed = ORDER_FIELDS if kind == "orders" else CUSTOMER_FIELDS
    columns = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(columns, dict) or not columns:
        raise ImportError_("The mapping needs a 'columns' object: {field: column header}.",
                           code="imports.bad_mapping")
    unknown = sorted(set(columns) - set(allowed))
    if unknown:
        raise ImportError_(f"Unknown fields in the mapping: {', '.join(unknown)}. Fields for {kind}: "
                           f"{', '.join(allowed)}.", code="imports.bad_mapping")
    platform = data.get("platform")
    if platform is not None and not (isinstance(platform, str) and re.fullmatch(r"[a-z0-9_]{1,32}", platform)):
        raise ImportError_("'platform' must be a short lower-case name such as jd or douyin.",
                           code="imports.bad_mapping")
    cancelled = data.get("cancelled_statuses") or []
    if not isinstance(cancelled, list) or not all(isinstance(c, str) for c in cancelled):
        raise ImportError_("'cancelled_statuses' must be a list of status texts.", code="imports.bad_mapping")
    date_format = data.get("date_format")
    return Preset(
        name="custom", kind=kind, platform=platform,
        columns={f: (str(h),) for f, h in columns.items()},
        required=("order_id",) if kind == "orders" else (),
        line_items=bool(data.get("line_items", kind == "orders")),
        date_formats=(date_format,) if isinstance(date_format, str) else (),
        cancelled_statuses=tuple(cancelled),
    )
