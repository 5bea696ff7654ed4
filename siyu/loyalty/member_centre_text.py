"""The member centre's words in Chinese and English (the page is public, outside the console's
gettext catalogues, like the campaign and promoter pages)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_currency

BABEL_LOCALES = {"zh": "zh_CN", "en": "en"}  # as message templates' ``money`` filter formats amounts

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "会员中心", "switch": "English", "tier": "会员等级", "growth": "成长值",
        "to_next": "再获得 {missing} 成长值升级为{tier}", "top": "已是最高等级",
        "benefits": "等级权益", "multiplier": "积分 {x} 倍", "priority": "专属优先服务",
        "reach_gift": "升级礼：{name}", "monthly_gift": "每月礼：{name}",
        "downgrade": "若保级失败，将于 {at} 调整为{tier}",
        "points": "我的积分", "balance": "可用积分", "debt": "退款待抵扣 {points} 积分",
        "expiring": "{points} 积分将于 {at} 过期", "history": "积分明细", "no_history": "还没有积分记录",
        "kinds": {"earn": "获得", "spend": "使用", "expire": "过期", "reverse": "退款扣回", "repay": "抵扣欠分",
                  "adjust": "调整"},
        "coupons": "我的优惠券", "no_coupons": "还没有优惠券",
        "groups": {"claimed": "可使用", "redeemed": "已使用", "expired": "已过期"},
        "code": "券码", "face_value": "面额 {amount}", "valid_until": "有效期至", "no_end": "长期有效",
        "catalogue": "积分兑换", "no_catalogue": "暂无可兑换的礼品", "price": "{points} 积分", "redeem": "立即兑换",
        "not_enough": "积分不足", "sold_out": "已兑完",
        "redeemed": "兑换成功：{name}，券码 {code}",
        "refused_points": "积分不足：兑换需要 {points} 积分，你现在有 {balance} 积分，积分未扣除。",
        "refused": "兑换未成功：{reason} 积分未扣除。",
        "refused_reasons": {"offers.out_of_stock": "礼品已兑完。", "offers.limit_reached": "已达到每人兑换上限。",
                            "offers.budget_spent": "活动预算已用完。", "offers.expired": "礼品已过期。",
                            "loyalty.invalid": "该礼品已不在兑换目录中。",
                            "loyalty.key_reused": "请刷新页面后重试。"},
        "tasks": "成长任务", "task_done": "已完成", "task_points": "+{points} 积分",
        "invite": "邀请好友", "invite_join": "参加活动，获取我的邀请链接", "invite_link": "我的邀请链接",
        "invite_progress": "已邀请 {n} 位好友", "poster": "长按保存海报，分享给好友", "copy": "复制链接",
        "copied": "已复制", "invite_closed": "活动已结束，暂时无法参加。", "rules": "活动规则",
        "no_programme": "会员计划尚未开放，敬请期待。",
        "invalid": "链接无效", "invalid_body": "这个会员中心链接无效或已损坏，请通过公众号或企业微信重新获取。",
        "expired": "链接已过期",
        "expired_body": "为保护你的积分和券码，会员中心链接有有效期。请通过公众号或企业微信重新获取最新链接。",
    },
    "en": {
        "title": "Member centre", "switch": "中文", "tier": "Tier", "growth": "Growth value",
        "to_next": "{missing} more growth value to {tier}", "top": "You are at the top tier",
        "benefits": "Tier benefits", "multiplier": "{x}× points", "priority": "Priority service",
        "reach_gift": "Welcome gift: {name}", "monthly_gift": "Monthly gift: {name}",
        "downgrade": "Unless you keep your tier, it changes to {tier} on {at}",
        "points": "My points", "balance": "Points available", "debt": "{points} points owed from a refund",
        "expiring": "{points} points expire on {at}", "history": "Points history", "no_history": "No points yet",
        "kinds": {"earn": "Earned", "spend": "Spent", "expire": "Expired", "reverse": "Refund taken back",
                  "repay": "Debt repaid", "adjust": "Adjusted"},
        "coupons": "My coupons", "no_coupons": "No coupons yet",
        "groups": {"claimed": "Ready to use", "redeemed": "Used", "expired": "Expired"},
        "code": "Code", "face_value": "Value {amount}", "valid_until": "Valid until", "no_end": "No end date",
        "catalogue": "Redeem points", "no_catalogue": "Nothing to redeem right now", "price": "{points} points",
        "redeem": "Redeem", "not_enough": "Not enough points", "sold_out": "Sold out",
        "redeemed": "Redeemed: {name}, code {code}",
        "refused_points": "Not enough points: this needs {points} points and you have {balance}. "
                          "No points were spent.",
        "refused": "Not redeemed: {reason} No points were spent.",
        "refused_reasons": {"offers.out_of_stock": "It has run out.",
                            "offers.limit_reached": "You have reached the limit per person.",
                            "offers.budget_spent": "The budget is spent.", "offers.expired": "It has expired.",
                            "loyalty.invalid": "It is no longer in the catalogue.",
                            "loyalty.key_reused": "Please reload the page and try again."},
        "tasks": "Growth tasks", "task_done": "Done",
        "task_points": "+{points} points",
        "invite": "Invite friends", "invite_join": "Join and get my invite link", "invite_link": "My invite link",
        "invite_progress": "{n} friends invited", "poster": "Press and hold to save the poster, then share it",
        "copy": "Copy link", "copied": "Copied", "invite_closed": "This campaign has ended; you can't join now.",
        "rules": "Rules", "no_programme": "The membership programme is not open yet.",
        "invalid": "Invalid link", "invalid_body": "This member centre link is not valid. Ask for a new one in our "
                                                   "official account or WeCom.",
        "expired": "Link expired", "expired_body": "To keep your points and coupon codes safe, member centre links "
                                                   "expire. Ask for a new one in our official account or WeCom.",
    },
}


def money(fen: int, lang: str) -> str:
    """An amount in fen as the page's language writes yuan (CLDR through Babel, as the console and message
    templates do): ``¥7.33`` in Chinese, ``CN¥7.33`` in English, where a bare ``¥`` would be the yen."""
    return format_currency(Decimal(fen) / 100, "CNY", locale=BABEL_LOCALES[lang])
