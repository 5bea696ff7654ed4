"""Who a bulk operation targets: an uploaded list of identifiers, or a filter."""

from __future__ import annotations

from sqlalchemy import Connection

from siyu.identity import store as identity_store
from siyu.identity.models import Identifier
from siyu.identity.normalise import InvalidIdentifier, normalise
from siyu.profiles.errors import ProfileError
from siyu.profiles.models import ProfileFilter

MAX_LIST_LINES = 1_000_000
_HEADERS = {"type,value", "value", "类型,值", "值"}


def parse_identifier_list(text: str, type_: str | None = None) -> list[tuple[str, str]]:
    """Read an operator's list: ``type,value`` lines (CSV or plain text), or bare values of ``type_``.

    Operators paste phone lists from Excel, so a header line, blank lines, a BOM and spaces around
    values are tolerated; anything else that is not ``type,value`` is refused with the line number
    rather than silently skipped.
    """
    pairs: list[tuple[str, str]] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.lower().replace(" ", "") in _HEADERS:
            continue
        if len(pairs) >= MAX_LIST_LINES:
            raise ProfileError(f"The list has more than {MAX_LIST_LINES:,} lines; split it.", code="tags.bad_list")
        if type_:
            pairs.append((type_, line.split(",")[0].strip().strip('"')))
            continue
        kind, sep, rest = line.partition(",")
        if not sep:
            raise ProfileError(f"Line {number} ({line[:80]!r}) is not 'type,value'; give the type of every value "
                               f"instead (e.g. type=phone).", code="tags.bad_list", details={"line": number})
        pairs.append((kind.strip().strip('"'), rest.strip().strip('"')))
    return pairs


def profile_ids_for(conn: Connection, workspace_id: int, pairs: list[tuple[str, str]],
                    region: str) -> tuple[list[int], int, int]:
    """Live profile ids for (type, value) pairs; also how many were unknown and how many invalid.

    Set-based: values are normalised in Python, then looked up in chunks per identifier type
    (the ingest pipeline's own lookup). Identities always point at live profiles (merges re-point
    them, erasure deletes them), so no merge chain has to be followed here.
    """
    wanted: set[Identifier] = set()
    invalid = 0
    for type_, value in pairs:
        try:
            wanted.add(normalise(type_, value, region))
        except InvalidIdentifier:
            invalid += 1
    owners = identity_store.load_owners(conn, workspace_id, wanted)
    return sorted(set(owners.values())), len(wanted) - len(owners), invalid


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
