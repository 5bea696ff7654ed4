"""What the fake WeChat and WeCom servers share: the access tokens they hand out, and the controls
tests use on them (expire every token, revoke every token, script the next errcodes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Token:
    owner: str  # the app id (WeChat) or corp id (WeCom) the token was issued to
    expires_at: float
    revoked: bool = False


class TokenControls:
    """Mixed into a fake that holds ``lock``, ``now()``, ``_tokens`` (token -> :class:`Token`) and
    ``_scripted`` (errcodes to answer next)."""

    lock: Any
    now: Callable[[], float]
    _tokens: dict[str, Token]
    _scripted: list[int]

    def fail_next(self, *errcodes: int) -> None:
        """Answer the next sends (with a valid token) with these errcodes, in order."""
        with self.lock:
            self._scripted.extend(errcodes)

    def expire_tokens(self) -> None:
        """Every token handed out so far has expired (42001 from now on)."""
        with self.lock:
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, self.now() - 1)

    def revoke_tokens(self) -> None:
        """Every token handed out so far was ended early (40001 / 40014 from now on), as after a forced refresh."""
        with self.lock:
            for token in self._tokens.values():
                token.revoked = True
