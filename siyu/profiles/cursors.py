"""Opaque keyset cursors: ``"<epoch ms>.<id>"``, refused with a clear error when tampered with."""

from __future__ import annotations

from siyu.profiles.errors import ProfileError


def encode_cursor(cursor: tuple[int, int] | None) -> str | None:
    return None if cursor is None else f"{int(cursor[0])}.{int(cursor[1])}"


def decode_cursor(text: str | None) -> tuple[int, int] | None:
    if text is None or text == "":
        return None
    first, sep, second = text.partition(".")
    if not sep or not first.lstrip("-").isdigit() or not second.isdigit():
        raise ProfileError("The cursor is not valid; pass back the 'next_cursor' of the previous page.",
                           code="request.bad_cursor")
    value = int(first), int(second)
    if not all(-(2**62) <= part <= 2**62 for part in value):
        raise ProfileError("The cursor is out of range.", code="request.bad_cursor")
    return value
