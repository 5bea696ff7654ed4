"""Which identifiers may join one profile: blocked values, limits per type, and priority.

Modelled on Segment Unify's identity resolution settings (twilio.com/docs/segment/unify/
identity-resolution/identity-resolution-settings): values that are placeholders are never
promoted to identifiers; each type has a maximum per profile; and when a link would break a limit,
the lowest-priority identifier on the incoming event is demoted and matching is retried. The
defaults follow shared/REFERENCE.md: ids that never change (unionid, user id, member id, an openid
per app, an external user id per corp) are 1 per profile; phones a few; anonymous ids bounded so
that a shared device cannot glue strangers together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from siyu.identity.models import Identifier, IdentifierKind

DEFAULT_LIMITS: dict[IdentifierKind, int] = {
    IdentifierKind.USER_ID: 1,
    IdentifierKind.MEMBER_ID: 1,
    IdentifierKind.WECHAT_UNIONID: 1,
    IdentifierKind.WECHAT_OPENID: 1,  # per app id
    IdentifierKind.WECOM_EXTERNAL_USERID: 1,  # per corp id
    IdentifierKind.PLATFORM_BUYER_ID: 3,  # per platform: people keep a second shop account
    IdentifierKind.PHONE: 3,
    IdentifierKind.EMAIL: 5,
    IdentifierKind.ANONYMOUS_ID: 50,
}

# Highest first. A merge that breaks a limit demotes the incoming identifier lowest in this list.
DEFAULT_PRIORITY: tuple[IdentifierKind, ...] = (
    IdentifierKind.USER_ID,
    IdentifierKind.MEMBER_ID,
    IdentifierKind.WECHAT_UNIONID,
    IdentifierKind.WECHAT_OPENID,
    IdentifierKind.WECOM_EXTERNAL_USERID,
    IdentifierKind.PHONE,
    IdentifierKind.PLATFORM_BUYER_ID,
    IdentifierKind.EMAIL,
    IdentifierKind.ANONYMOUS_ID,
)

# Placeholders that SDKs, forms and test scripts send; promoting them would merge everybody who
# ever sent them. 13800138000 is the phone number of China Mobile's customer-service line and the
# default in countless Chinese tutorials and test scripts.
DEFAULT_BLOCKED_PATTERNS: tuple[str, ...] = (
    r"^[0\-]*$",
    r"^-1$",
    r"^(?i:null|none|nil|undefined|anonymous|unknown|n/?a|test|guest|default|\{\{.*\}\})$",
    r"^\+8613800138000$",
    r"^(?i:test@test\.com|.*@example\.(com|org|net))$",
)


@dataclass(frozen=True)
class IdentityRules:
    limits: dict[IdentifierKind, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    priority: tuple[IdentifierKind, ...] = DEFAULT_PRIORITY
    blocked: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in DEFAULT_BLOCKED_PATTERNS)

    def rank(self, identifier: Identifier) -> int:
        """Lower is more important."""
        return self.priority.index(identifier.kind)

    def limit_key(self, identifier: Identifier) -> str:
        """Limits count per full type, so openids are limited per app and buyer ids per platform."""
        return identifier.type

    def limit(self, identifier: Identifier) -> int:
        return self.limits[identifier.kind]

    def is_blocked(self, identifier: Identifier) -> bool:
        return self._blocked_any.search(identifier.value) is not None

    @property
    def _blocked_any(self) -> re.Pattern[str]:
        # One alternation instead of N searches: this runs for every identifier of every event.
        cached = self.__dict__.get("_blocked_cache")
        if cached is None:
            cached = re.compile("|".join(f"(?:{p.pattern})" for p in self.blocked))
            object.__setattr__(self, "_blocked_cache", cached)
        return cached

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> IdentityRules:
        """Workspace overrides: ``{"identity": {"limits": {...}, "blocked": [...]}}``."""
        section = settings.get("identity") or {}
        limits = dict(DEFAULT_LIMITS)
        for name, value in (section.get("limits") or {}).items():
            limits[IdentifierKind(name)] = int(value)
        blocked = DEFAULT_BLOCKED_PATTERNS + tuple(section.get("blocked") or ())
        return cls(limits=limits, blocked=tuple(re.compile(p) for p in blocked))


DEFAULT_RULES = IdentityRules()
