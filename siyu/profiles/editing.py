"""Changes the management API makes to one person: traits, consent, manual merges, erasure.

Reserved identifier traits (phone, email, unionid, member id) are not edited here: they are
identities, and changing them could merge or split people. Send an identify call instead, which
goes through identity resolution.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.identity import store as identity_store
from siyu.identity.graph import PendingMerge
from siyu.identity.models import RESERVED_TRAIT_IDENTIFIERS, Identifier
from siyu.identity.resolve import broken_limit
from siyu.identity.rules import IdentityRules
from siyu.profiles import read_store, tag_store
from siyu.profiles import store as profile_store
from siyu.profiles.errors import IdentityConflict, ProfileError
from siyu.profiles.traits import apply_traits

TRAITS_CHANGED = "Traits Changed"
CONSENT_CHANGED = "Consent Changed"


def edit_traits(conn: Connection, workspace_id: int, profile_id: int, set_: dict[str, Any], unset: list[str],
                actor: str) -> dict[str, Any]:
    reserved = sorted((set(set_) | set(unset)) & set(RESERVED_TRAIT_IDENTIFIERS))
    if reserved:
        raise ProfileError(f"{', '.join(reserved)} are identifiers: change them with an identify call so that "
                           "identity resolution sees them.", code="profiles.reserved_trait",
                           details={"traits": reserved})
    now = clock.now()
    stored = profile_store.load_traits(conn, workspace_id, [profile_id]).get(profile_id, ({}, {}))
    traits, meta = stored
    apply_traits(traits, meta, set_, now, "api")
    for key in unset:
        traits.pop(key, None)
        meta.pop(key, None)
    read_store.save_profile_traits(conn, workspace_id, profile_id, traits, meta, now)
    read_store.append_profile_events(conn, workspace_id, [(profile_id, TRAITS_CHANGED,
                                                           {"set": set_, "unset": unset, "actor": actor})], "api", now)
    return traits


def set_consent(conn: Connection, workspace_id: int, profile_id: int, channel: str, purpose: str, status: str,
                source: str, actor: str) -> None:
    now = clock.now()
    tag_store.set_consent(conn, workspace_id, profile_id, channel, purpose, status, source, now)
    read_store.append_profile_events(conn, workspace_id, [(profile_id, CONSENT_CHANGED, {
        "channel": channel, "purpose": purpose, "status": status, "source": source, "actor": actor})], source, now)


def merge_preview(conn: Connection, workspace_id: int, into_id: int, other_id: int,
                  rules: IdentityRules) -> dict[str, Any]:
    members = identity_store.load_identities_of(conn, workspace_id, [into_id, other_id])
    combined = sorted(set(members.get(into_id, [])) | set(members.get(other_id, [])))
    broken = broken_limit(set(combined), rules)
    return {"into": into_id, "other": other_id, "identities": [i.as_dict() for i in combined],
            "allowed": broken is None,
            "broken_rule": None if broken is None else f"limit:{broken}"}


def merge_profiles(conn: Connection, workspace_id: int, into_id: int, other_id: int, rules: IdentityRules, *,
                   force: bool, actor: str) -> dict[str, Any]:
    """An operator says two profiles are one person. Refused when the identity limits would break
    (two user ids, two unionids…) unless ``force`` — an owner overriding the rules, audited."""
    if into_id == other_id:
        raise ProfileError("A profile cannot be merged into itself.", code="profiles.same_profile")
    identity_store.lock_identity_graph(conn, workspace_id)
    preview = merge_preview(conn, workspace_id, into_id, other_id, rules)
    if not preview["allowed"] and not force:
        raise IdentityConflict(f"Merging would break the identity rule {preview['broken_rule']}; an owner may "
                               "force it.", details=preview)
    now = clock.now()
    moved = [Identifier(i["type"], i["value"]) for i in identity_store.identities_of(conn, workspace_id, other_id)]
    identity_store.repoint_identities(conn, workspace_id, other_id, into_id)
    profile_store.fold_profile(conn, workspace_id, other_id, into_id, now)
    identity_store.record_merges(conn, workspace_id, [PendingMerge(other_id, into_id, moved, None)], now,
                                 reason="manual_forced" if not preview["allowed"] else "manual", actor=actor)
    return preview
