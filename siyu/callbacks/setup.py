"""Connecting an official account or a WeCom corp: what the platform's admin console asks for
(token, EncodingAESKey) written into the workspace's channel settings, and the address to paste back.

The interface contract: ``siyu channels add wecom|wechat-oa`` and ``POST /api/channels`` answer
``{"channel_id", "callback_path"}``; the platform calls ``callback_path`` on the siyu server. The
token is 3–32 letters or digits and the EncodingAESKey 43 letters or digits — the rules both admin
consoles enforce (developers.weixin.qq.com "接入指南"; developer.work.weixin.qq.com path/90930).
The secret is optional: without it the channel receives callbacks but does not send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from siyu.errors import SiyuError

TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")
AES_KEY = re.compile(r"[A-Za-z0-9]{43}")
ACCOUNT = re.compile(r"[A-Za-z0-9_\-]{1,64}")


class ChannelSetupError(SiyuError):
    code = "channels.invalid"
    status = 422


@dataclass(frozen=True)
class Kind:
    section: str  # the settings section both directions read
    account_key: str  # appid | corpid
    token_key: str
    path: str  # /callbacks/<path>/<workspace id>


KINDS = {"wechat-oa": Kind("wechat", "appid", "token", "wechat"),
         "wecom": Kind("wecom", "corpid", "callback_token", "wecom")}


def patch_for(kind: str, *, account_id: str, token: str, aes_key: str | None, secret: str | None) -> dict[str, Any]:
    """The settings merge patch that connects the channel; refuses what the platform would refuse."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ChannelSetupError(f"Unknown channel kind {kind!r}; use {' or '.join(KINDS)}.",
                                details={"field": "kind"})
    if not isinstance(account_id, str) or not ACCOUNT.fullmatch(account_id):
        raise ChannelSetupError(f"The {'app id' if spec.section == 'wechat' else 'corp id'} is 1-64 letters, digits, "
                                "'_' or '-'.", details={"field": "app_id" if spec.section == "wechat" else "corp_id"})
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise ChannelSetupError("The token is 3 to 32 letters or digits (as the platform's console requires).",
                                details={"field": "token"})
    if aes_key is not None and not AES_KEY.fullmatch(aes_key):
        raise ChannelSetupError("The EncodingAESKey is exactly 43 letters or digits.", details={"field": "aes_key"})
    if spec.section == "wecom" and aes_key is None:
        raise ChannelSetupError("WeCom callbacks are always encrypted: give the EncodingAESKey.",
                                details={"field": "aes_key"})
    section: dict[str, Any] = {spec.account_key: account_id, spec.token_key: token}
    if aes_key is not None:
        section["encoding_aes_key"] = aes_key
    if secret:
        section["secret"] = secret
    return {"channels": {spec.section: section}}


def connected(settings: dict[str, Any] | None, workspace_id: int) -> list[dict[str, Any]]:
    """The connected inbound channels of a workspace, as the contract describes them (no secrets)."""
    found = []
    channels = (settings or {}).get("channels") or {}
    for kind, spec in KINDS.items():
        config = channels.get(spec.section)
        if not isinstance(config, dict) or not config.get(spec.account_key) or not config.get(spec.token_key):
            continue
        found.append({"channel_id": channel_id(kind, str(config[spec.account_key])), "kind": kind,
                      "account_id": str(config[spec.account_key]),
                      "callback_path": f"/callbacks/{spec.path}/{workspace_id}",
                      "encrypted": bool(config.get("encoding_aes_key")), "sends": bool(config.get("secret"))})
    return found


def channel_id(kind: str, account_id: str) -> str:
    return f"{kind}:{account_id}"
