"""Which identifiers a message carries.

``userId`` and ``anonymousId``; the reserved traits ``phone``, ``email``, ``wechat_unionid`` and
``member_id`` (in ``traits`` of an identify call or in ``context.traits`` of any call); and scoped
ids in Segment's ``context.externalIds`` (``[{"type": "wechat_openid:wx123", "id": "o6_b…"}]``).
Placeholder values (see :mod:`siyu.identity.rules`) are dropped here: they stay in the payload but
never link people.
"""

from __future__ import annotations

from siyu.identity.models import RESERVED_TRAIT_IDENTIFIERS, Identifier, IdentifierKind
from siyu.identity.normalise import InvalidIdentifier, normalise
from siyu.identity.rules import IdentityRules
from siyu.ingest.spec import Message

USER_ID = IdentifierKind.USER_ID.value
ANONYMOUS_ID = IdentifierKind.ANONYMOUS_ID.value


def identifiers_of(message: Message, rules: IdentityRules, region: str = "CN") -> list[Identifier]:
    found: list[Identifier] = []

    def add(type_: str, value: object, field: str) -> None:
        if isinstance(value, str | int) and not isinstance(value, bool) and rules.is_blocked_value(str(value).strip()):
            return  # a placeholder: never normalised, never linked
        try:
            identifier = normalise(type_, value, region)
        except InvalidIdentifier as error:
            error.details = {**error.details, "field": field}
            raise
        if not rules.is_blocked(identifier):  # the normalised form may be a placeholder too
            found.append(identifier)

    # userId and anonymousId were validated as strings of bounded length by the spec parser and
    # need no normalising beyond trimming: build them directly (this runs for every event).
    for type_, value in ((USER_ID, message.user_id), (ANONYMOUS_ID, message.anonymous_id)):
        if value is not None:
            value = value.strip()
            if value and not rules.is_blocked_value(value):
                found.append(Identifier(type_, value))
    traits = message.profile_traits()
    if traits:
        for key, kind in RESERVED_TRAIT_IDENTIFIERS.items():
            value = traits.get(key)
            if value is None or value == "":
                continue
            add(kind, value, f"traits.{key}")
    external = message.context.get("externalIds")
    if external is not None:
        if not isinstance(external, list):
            raise InvalidIdentifier("'context.externalIds' must be a list of {type, id} objects.")
        for position, item in enumerate(external):
            if not isinstance(item, dict) or "type" not in item or "id" not in item:
                raise InvalidIdentifier("Each of 'context.externalIds' needs 'type' and 'id'.",
                                        details={"field": f"context.externalIds[{position}]"})
            add(str(item["type"]), item["id"], f"context.externalIds[{position}]")
    return list(dict.fromkeys(found)) if len(found) > 2 else found
