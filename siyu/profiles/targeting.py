"""Who a bulk operation targets: a list of identifiers, or a filter."""

from __future__ import annotations

from sqlalchemy import Connection

from siyu.identity import store as identity_store
from siyu.identity.normalise import InvalidIdentifier, normalise
from siyu.profiles import read_store
from siyu.profiles.models import ProfileFilter


def profile_ids_for(conn: Connection, workspace_id: int, pairs: list[tuple[str, str]],
                    region: str) -> tuple[list[int], int, int]:
    """Live profile ids for (type, value) pairs; also how many were unknown and how many invalid."""
    found: set[int] = set()
    unknown = invalid = 0
    for type_, value in pairs:
        try:
            identifier = normalise(type_, value, region)
        except InvalidIdentifier:
            invalid += 1
            continue
        profile_id = identity_store.find_profile_id(conn, workspace_id, identifier)
        if profile_id is None:
            unknown += 1
        else:
            found.add(read_store.resolve_profile_id(conn, workspace_id, profile_id))
    return sorted(found), unknown, invalid


def build_filter(*, region: str, text: str | None = None, tag_ids: tuple[int, ...] = (),
                 identifier_type: str | None = None, identifier_value: str | None = None,
                 trait_key: str | None = None, trait_value: str | None = None,
                 channel: str | None = None) -> ProfileFilter:
    identifier = None
    if identifier_type and identifier_value:
        normalised = normalise(identifier_type, identifier_value, region)
        identifier = (normalised.type, normalised.value)
    trait = (trait_key, trait_value or "") if trait_key else None
    return ProfileFilter(text=text or None, tag_ids=tag_ids, identifier=identifier, trait=trait,
                         channel=channel or None)
