"""What the demo brand sells and where its customers come from.

Modelled on the seed articles' case (a domestic cosmetics brand): people arrive from Xiaohongshu
KOL posts, from the QR code on the card inside every Tmall parcel, at offline stores, through a
staff member's personal WeCom link (the 小完子 persona), and from search; they are kept in the
private domain through the official account, the mini program shop, WeCom and community groups.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price: float


PRODUCTS: tuple[Product, ...] = (
    Product("LIP-01", "小细跟口红 #01 复古红", "lipstick", 89.9),
    Product("LIP-02", "小细跟口红 #02 豆沙", "lipstick", 89.9),
    Product("LIP-03", "丝绒唇釉 #L03", "lipstick", 69.9),
    Product("EYE-12", "探险家十二色眼影盘 动物盘", "eyeshadow", 129.0),
    Product("EYE-09", "九色眼影盘 赤狐", "eyeshadow", 99.0),
    Product("FDN-01", "粉底液 自然色 30ml", "foundation", 139.0),
    Product("PWD-01", "散粉 控油定妆", "powder", 79.9),
    Product("MSC-01", "纤长睫毛膏", "mascara", 59.9),
    Product("BRW-01", "眉笔 灰棕", "brow", 39.9),
    Product("SET-618", "618 限定礼盒", "gift_set", 299.0),
    Product("SET-1111", "双十一 限定彩妆礼盒", "gift_set", 399.0),
)

# name, share of new customers (first touch). "invite" is 老带新: a friend's share in WeChat.
CHANNELS: tuple[tuple[str, float], ...] = (
    ("xiaohongshu", 0.28),
    ("tmall_card", 0.26),
    ("store", 0.16),
    ("staff_link", 0.14),
    ("search", 0.10),
    ("invite", 0.06),
)

CHANNEL_NAMES = {
    "xiaohongshu": ("小红书 KOL 笔记", "Xiaohongshu KOL posts"),
    "tmall_card": ("天猫包裹卡", "Tmall package card"),
    "store": ("线下门店", "Offline stores"),
    "staff_link": ("导购企微链接", "Staff WeCom links"),
    "search": ("搜索", "Search"),
    "invite": ("老带新邀请", "Invited by a friend"),
}

OFFICIAL_ACCOUNT_APP_ID = "wxdemo0a0fficial"
MINI_PROGRAM_APP_ID = "wxdemo0m1n1shop"
WECOM_CORP_ID = "wwdemo0c0rp"
STORES = ("store-sh-jingan", "store-gz-tianhe", "store-cd-taikoo", "store-bj-sanlitun", "store-hz-hubin")

# Days between two orders of a repeat buyer: a lipstick or a palette lasts about two to three months.
REPURCHASE_DAYS = (45, 120)

# Relative order volume by month (January = 1): Spring Festival dip, the 618 and Double 11 peaks.
MONTH_WEIGHTS = {1: 0.8, 2: 0.55, 3: 0.9, 4: 0.9, 5: 1.0, 6: 2.1, 7: 0.9, 8: 0.85, 9: 0.95, 10: 1.1, 11: 2.6,
                 12: 1.2}
