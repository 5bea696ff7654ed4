"""Translations and locale formatting for the console (Babel).

Messages are written in English in the templates and translated from ``locales/<locale>/
LC_MESSAGES/messages.po``. The .po sources are compiled in memory at start-up (Babel's
``read_po`` + ``write_mo``), so no generated .mo files live in the repository. The language is the
user's own setting, else the browser's ``Accept-Language``, else Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).parent / "locales"
SUPPORTED = ("zh_CN", "en")
DEFAULT = "zh_CN"
TAGS = {"zh_CN": "zh-CN", "en": "en"}

# Codes the console shows by name: acquisition channels (``context.campaign.source``), consent
# channels, purposes and statuses. The English name is the msgid; the catalogues give 小红书, 天猫包裹卡,
# 营销 … Any other code is shown as it was sent.
TERMS = {
    "xiaohongshu": "Xiaohongshu", "douyin": "Douyin", "tmall": "Tmall", "tmall_card": "Tmall package card",
    "jd": "JD", "youzan": "Youzan", "shopify": "Shopify", "store": "Offline store", "staff_link": "Staff link",
    "search": "Search", "wechat": "WeChat", "wecom": "WeCom", "official_account": "Official account",
    "mini_program": "Mini program", "referral": "Referral", "unknown": "Unknown", "sms": "SMS",
    "email": "E-mail", "webhook": "Webhook", "marketing": "Marketing", "transactional": "Transactional",
    "granted": "Granted", "revoked": "Revoked",
    # messages: channels, statuses and the contact policy's reasons (siyu.messaging)
    "wechat_template": "WeChat template message", "wechat_subscribe": "WeChat subscribe message",
    "wechat_cs": "WeChat customer-service message", "queued": "Queued", "claimed": "Claimed", "sending": "Sending",
    "sent": "Sent", "stopped": "Stopped", "failed": "Failed", "dead": "Dead letter", "uncertain": "Uncertain",
    "policy.unsubscribed": "Unsubscribed", "policy.no_consent": "No marketing consent",
    "policy.no_address": "No address on this channel", "policy.unfollowed": "Unfollowed the official account",
    "policy.outside_window": "Outside the 48-hour window", "policy.window_quota": "Window quota used up",
    "policy.wecom_limit": "WeCom mass-message limit",
    "policy.no_subscription": "No subscription left", "policy.frequency_cap": "Frequency cap",
    "policy.cooldown": "Cooldown", "policy.quiet_hours": "Quiet hours", "broadcast.cancelled": "Broadcast cancelled",
    "broadcast.holdout": "Kept back as the control group",
    "delivery.interrupted": "Interrupted mid-send", "template.blocked": "Template refused by the platform rules",
    "policy.merged": "A second copy after a profile merge",
}


@cache
def translations(locale: str) -> NullTranslations:
    source = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not source.is_file():
        return NullTranslations()
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def normalise(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.replace("-", "_")
    if tag.lower().startswith("zh"):
        return "zh_CN"
    if tag.lower().startswith("en"):
        return "en"
    return None


def choose_locale(user_setting: str | None, accept_language: str | None) -> str:
    chosen = normalise(user_setting)
    if chosen:
        return chosen
    if accept_language:
        wanted = [part.split(";")[0].strip().replace("-", "_") for part in accept_language.split(",")]
        found = negotiate_locale([w for w in wanted if w], list(SUPPORTED) + ["zh", "en_US", "en_GB"], sep="_")
        if found:
            return normalise(found) or DEFAULT
    return DEFAULT


def babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


def term_label(code: str | None, gettext: Callable[[str], str]) -> str:
    """The reader's word for a known code (``None`` is an unknown channel); other codes unchanged."""
    key = code or "unknown"
    return gettext(TERMS[key]) if key in TERMS else key
