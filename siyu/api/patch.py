"""What a PATCH body changes: the fields it names, where an explicit ``null`` clears a field only
if the field may be empty. A ``null`` for a name or a status means "no change" rather than a
database constraint error (a 500) — what the fuzz test sends, and what a client that serialises
every field of its model sends too."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel


def patch_values(body: BaseModel, *, nullable: Iterable[str] = ()) -> dict[str, Any]:
    clearable = set(nullable)
    return {key: value for key, value in body.model_dump(exclude_unset=True).items()
            if value is not None or key in clearable}
