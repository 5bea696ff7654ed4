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
    IdentifierKind.WECOM_USER: 1,  # per corp id
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
    IdentifierKind.WECOM_USER,
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

    def __post_init__(self) -> None:
        # This runs for every identifier of every event: one alternation instead of N searches, and
        # the patterns anchored at the start (all the defaults) tried there only, with ``match``,
        # instead of at every position of the value.
        anchored = [p.pattern for p in self.blocked if p.pattern.startswith("^")]
        floating = [p.pattern for p in self.blocked if not p.pattern.startswith("^")]
        object.__setattr__(self, "_anchored", _alternation(anchored))
        object.__setattr__(self, "_floating", _alternation(floating))
        object.__setattr__(self, "_ranks", {kind.value: index for index, kind in enumerate(self.priority)})

    def rank(self, identifier: Identifier) -> int:
        """Lower is more important."""
        ranks: dict[str, int] = self._ranks  # type: ignore[attr-defined]
        found = ranks.get(identifier.type.partition(":")[0])
        return self.priority.index(identifier.kind) if found is None else found

    def limit_key(self, identifier: Identifier) -> str:
        """Limits count per full type, so openids are limited per app and buyer ids per platform."""
        return identifier.type

    def limit(self, identifier: Identifier) -> int:
        return self.limits[identifier.kind]

    def is_blocked(self, identifier: Identifier) -> bool:
        return self.is_blocked_value(identifier.value)

    def is_blocked_value(self, value: str) -> bool:
        anchored: re.Pattern[str] | None = self._anchored  # type: ignore[attr-defined]
        floating: re.Pattern[str] | None = self._floating  # type: ignore[attr-defined]
        return bool((anchored is not None and anchored.match(value))
                    or (floating is not None and floating.search(value)))

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> IdentityRules:
        """Workspace overrides: ``{"identity": {"limits": {...}, "blocked": [...]}}``."""
        section = settings.get("identity") or {}
        limits = dict(DEFAULT_LIMITS)
        for name, value in (section.get("limits") or {}).items():
            limits[IdentifierKind(name)] = int(value)
        blocked = DEFAULT_BLOCKED_PATTERNS + tuple(section.get("blocked") or ())
        return cls(limits=limits, blocked=tuple(re.compile(p) for p in blocked))


def _alternation(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


DEFAULT_RULES = IdentityRules()
