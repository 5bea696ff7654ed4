"""A workspace's ``settings`` document: changing it safely, and never showing its secrets.

Settings are changed by JSON merge patch (RFC 7386): the keys given replace, ``null`` removes, the
rest stays. Channel credentials (an SMTP password, a WeChat app secret, an SMS access key secret)
are never returned: reading settings shows :data:`MASK` in their place, and a patch that sends the
mask back — as a form or a script that round-trips what it read will — keeps the stored value.
Every section a capability reads is checked by that capability's own parser before anything is
stored, so a typo is refused with the path of the field instead of breaking sends at 3 a.m.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from siyu.errors import SiyuError

MASK = "********"
SECRET_FIELDS = frozenset({"secret", "password", "access_key_secret", "token", "callback_token", "encoding_aes_key",
                           "aes_key", "api_key", "private_key", "signing_secret"})
MAX_BYTES = 256 * 1024


class InvalidSettings(SiyuError):
    code = "workspace.invalid_settings"
    status = 422


def redact(settings: Any) -> Any:
    """A copy with every secret field's value replaced by :data:`MASK`."""
    if isinstance(settings, dict):
        return {k: MASK if k in SECRET_FIELDS and isinstance(v, str) and v else redact(v) for k, v in settings.items()}
    if isinstance(settings, list):
        return [redact(v) for v in settings]
    return settings


def merge_patch(current: dict[str, Any], patch: Any, path: str = "settings") -> dict[str, Any]:
    """RFC 7386 merge of ``patch`` into ``current`` (neither is changed); a secret field given as
    :data:`MASK` keeps its stored value."""
    if not isinstance(patch, dict):
        raise InvalidSettings(f"{path}: expected an object (a JSON merge patch).", details={"field": path})
    merged = copy.deepcopy(current)
    for key, value in patch.items():
        where = f"{path}.{key}"
        if value is None:
            merged.pop(key, None)
        elif key in SECRET_FIELDS and value == MASK:
            if key not in current:
                raise InvalidSettings(f"{where}: the mask stands for a stored value, and none is stored; "
                                      "give the secret itself.", details={"field": where})
        elif isinstance(value, dict):
            base = current.get(key)
            merged[key] = merge_patch(base if isinstance(base, dict) else {}, value, where)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _identity(section: Any, timezone: str) -> None:
    from siyu.identity.rules import IdentityRules

    IdentityRules.from_settings({"identity": section})


def _messaging(section: Any, timezone: str) -> None:
    from siyu.messaging.policies import settings_from

    settings_from(section, timezone)


def _koc(section: Any, timezone: str) -> None:
    from siyu.segments.scores import KocWeights

    KocWeights.from_settings({"koc": section})


def _lifecycle(section: Any, timezone: str) -> None:
    for key in ("active_days", "churned_days"):
        if key in section and not (isinstance(section[key], int | float) and 1 <= section[key] <= 3650):
            raise ValueError(f"{key} must be a number of days between 1 and 3650")
    if {"active_days", "churned_days"} <= section.keys() and section["active_days"] >= section["churned_days"]:
        raise ValueError("active_days must be less than churned_days")


def _channels(section: Any, timezone: str) -> None:
    from siyu.messaging.pacing import limits_of

    for name, config in section.items():
        if not isinstance(config, dict):
            raise ValueError(f"{name}: expected an object")
        check = CHANNEL_CHECKS.get(name)
        if check is None:
            raise ValueError(f"unknown channel {name!r}; known: {', '.join(sorted(CHANNEL_CHECKS))}")
        try:
            check(config)
            limits_of(config)
        except (KeyError, ValueError, TypeError) as error:
            detail = f"missing {error.args[0]!r}" if isinstance(error, KeyError) else str(error)
            raise ValueError(f"{name}: {detail}") from None


def _email(config: dict[str, Any]) -> None:
    str(config["host"]), str(config["sender"])
    if not 1 <= int(config.get("port", 25)) <= 65535:
        raise ValueError("port must be 1-65535")


def _webhook(config: dict[str, Any]) -> None:
    if not re.match(r"^https?://", str(config["url"])):
        raise ValueError("url must start with http:// or https://")
    if not str(config["secret"]):
        raise ValueError("secret must not be empty")


def _sms(config: dict[str, Any]) -> None:
    from siyu.channels.sms import sms_channel

    sms_channel(config)


def _wechat(config: dict[str, Any]) -> None:
    """Sending needs ``secret``; an account connected only for callbacks (``siyu channels add``) has none.
    ``oauth_scope`` is read only when a visitor is sent to web authorisation, so a bad one is refused
    here rather than found by the first visitor."""
    from siyu.channels.wechat import TEMPLATE, WeChatChannel
    from siyu.channels.wechat_oauth import SCOPES

    if "secret" in config or "token" not in config:
        WeChatChannel.from_settings(TEMPLATE, config)
    elif not config.get("appid"):
        raise KeyError("appid")
    if "oauth_scope" in config and config["oauth_scope"] not in SCOPES:
        raise ValueError(f"oauth_scope must be one of {', '.join(SCOPES)}")


def _wecom(config: dict[str, Any]) -> None:
    from siyu.channels.wecom import WeComChannel

    if "secret" in config or "callback_token" not in config:
        WeComChannel.from_settings(config)
    elif not config.get("corpid"):
        raise KeyError("corpid")


CHANNEL_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "email": _email, "webhook": _webhook, "sms": _sms, "wechat": _wechat, "wecom": _wecom}
SECTIONS: dict[str, Callable[[Any, str], None]] = {
    "identity": _identity, "messaging": _messaging, "koc": _koc, "lifecycle": _lifecycle, "channels": _channels}


def validate(settings: dict[str, Any], timezone: str) -> None:
    """Raise :class:`InvalidSettings` naming the first section that its capability refuses. Sections
    siyu does not read are kept as they are (a later version or the operator's own notes)."""
    import orjson

    try:
        size = len(orjson.dumps(settings))
    except orjson.JSONEncodeError as error:  # e.g. an integer beyond 64 bits, which no database column keeps
        raise InvalidSettings(f"Settings can't be stored: {error}.", details={"field": "settings"}) from None
    if size > MAX_BYTES:
        raise InvalidSettings(f"Settings are limited to {MAX_BYTES // 1024} KB.", details={"field": "settings"})
    for name, check in SECTIONS.items():
        if name not in settings:
            continue
        section = settings[name]
        field = f"settings.{name}"
        if not isinstance(section, dict):
            raise InvalidSettings(f"{field}: expected an object.", details={"field": field})
        try:
            check(section, timezone)
        except SiyuError as error:
            raise InvalidSettings(f"{field}: {error.message}", details={"field": field}) from None
        except (KeyError, ValueError, TypeError, re.error) as error:
            detail = f"missing {error.args[0]!r}" if isinstance(error, KeyError) else str(error)
            raise InvalidSettings(f"{field}: {detail}.", details={"field": field}) from None
