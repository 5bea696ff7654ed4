"""The callbacks capability's error, with a stable code per reason.

The official-account endpoint shipped with the receipts (``receipts.bad_signature``, ...) and keeps
those codes: WeChat and the operators' monitoring already see them. The WeCom endpoint, new with
this capability, answers ``callbacks.<reason>``. The reasons are the same on both:

==================  ======  ===============================================================
``not_configured``  404     unknown workspace, or no token set up (the same answer for both)
``bad_signature``   403     the signature does not match, or the timestamp is outside ±5 min
``encrypted``       400     an encrypted push and no ``encoding_aes_key`` to read it
``undecryptable``   400     the ciphertext is not the platform's format, or is for another app
``invalid``         400     not XML, a DTD, or not a push (no MsgType, no sender)
``too_large``       413     a body over 64 KiB
``unavailable``     503     the database failed, or a handler did: nothing was kept, the platform retries
==================  ======  ===============================================================
"""

from __future__ import annotations

from typing import Any

from siyu.errors import SiyuError

PREFIX = {"wechat": "receipts", "wecom": "callbacks"}
STATUS = {"not_configured": 404, "bad_signature": 403, "encrypted": 400, "undecryptable": 400, "invalid": 400,
          "too_large": 413, "unavailable": 503}


class CallbackError(SiyuError):
    code = "callbacks.invalid"
    status = 400


def refused(platform: str, reason: str, message: str, details: dict[str, Any] | None = None) -> CallbackError:
    """The error for ``reason`` on ``platform``'s endpoint (see the table above)."""
    return CallbackError(message, code=f"{PREFIX[platform]}.{reason}", status=STATUS[reason], details=details)
