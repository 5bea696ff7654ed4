"""The SQL that reads the mirror's files as the operational store would answer: merges and erasures resolved.

Event parts and aggregate files keep the profile id as it was when they were written; a merge or
an erasure recorded later is applied when they are read, through the profile map (merged-away
profile -> survivor, erased or not). One SELECT per kind of file lives here, used by the engine's
views (:mod:`siyu.analytics.engine`) and by everything that rewrites files
(:mod:`siyu.analytics.mirror_rewrite`, :mod:`siyu.analytics.mirror_aggregates`), so that the
files a rewrite produces answer exactly as the files it replaced.
"""

from __future__ import annotations

from siyu.analytics.mirror_files import EVENT_SCHEMA, FileEntry, MirrorDirectory

DUCK_TYPES = {"int64": "BIGINT", "int32": "INTEGER", "string": "VARCHAR", "double": "DOUBLE", "bool": "BOOLEAN"}

# The columns of the aggregate files (mirror_aggregates writes them) and the engine's views over them.
PERSON_DAYS_COLUMNS = [("profile_id", "BIGINT"), ("day", "INTEGER"), ("name", "VARCHAR"), ("events", "INTEGER")]
FIRST_TOUCH_COLUMNS = [
    ("profile_id", "BIGINT"),
    ("first_ms", "BIGINT"),
    ("channel", "VARCHAR"),
    ("channel_ms", "BIGINT"),
    ("channel_id", "BIGINT"),
]
_SCRUBBED_EVENT_COLUMNS = {"anonymous_id", "user_id", "properties", "revenue", "channel"}


def quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def empty(columns: list[tuple[str, str]]) -> str:
    return "SELECT " + ", ".join(f'CAST(NULL AS {t}) AS "{n}"' for n, t in columns) + " WHERE false"


def event_columns() -> list[tuple[str, str]]:
    return [(f.name, DUCK_TYPES[str(f.type)]) for f in EVENT_SCHEMA]


def files_sql(directory: MirrorDirectory, entries: list[FileEntry], *, filename: bool = False) -> str:
    """``read_parquet`` of the files; ``filename`` adds the column naming each row's file."""
    paths = ", ".join(quote(str(directory.file(e.file))) for e in entries)
    return f"read_parquet([{paths}]{', filename = true' if filename else ''})"


def profile_map_sql(directory: MirrorDirectory, profile_map: FileEntry | None) -> str:
    if profile_map is None:
        return "(" + empty([("profile_id", "BIGINT"), ("canonical_id", "BIGINT"), ("erased", "BOOLEAN")]) + ")"
    return f"read_parquet({quote(str(directory.file(profile_map.file)))})"


def resolved_events_sql(
    directory: MirrorDirectory, parts: list[FileEntry], profile_map: FileEntry | None, *, json_properties: bool
) -> str:
    """SELECT of the given parts with merges resolved and erased people's fields scrubbed.

    The view uses it with ``json_properties`` (``properties`` typed JSON); compaction and erasure
    write its result back to Parquet with ``properties`` as text.
    """
    if not parts:
        return empty([(n, "JSON" if n == "properties" and json_properties else t) for n, t in event_columns()])
    select_list = []
    for name, _ in event_columns():
        column = f'e."{name}"'
        if name == "profile_id":
            column = "coalesce(m.canonical_id, e.profile_id)"
        elif name in _SCRUBBED_EVENT_COLUMNS:
            column = f"CASE WHEN m.erased THEN NULL ELSE {column} END"
        if name == "properties" and json_properties:
            column = f"CAST({column} AS JSON)"
        select_list.append(f'{column} AS "{name}"')
    return (
        f"SELECT {', '.join(select_list)} FROM {files_sql(directory, parts)} AS e "
        f"LEFT JOIN {profile_map_sql(directory, profile_map)} AS m ON m.profile_id = e.profile_id"
    )


def person_days_sql(
    directory: MirrorDirectory, entries: list[FileEntry], profile_map: FileEntry | None, workspace_id: int
) -> str:
    """Rows of person_days files, the profile resolved (they hold nothing that erasure removes)."""
    columns = [("workspace_id", "INTEGER"), *PERSON_DAYS_COLUMNS]
    if not entries:
        return empty(columns)
    return (
        f"SELECT CAST({int(workspace_id)} AS INTEGER) AS workspace_id, "
        "coalesce(m.canonical_id, d.profile_id) AS profile_id, d.day, d.name, d.events "
        f"FROM {files_sql(directory, entries)} AS d "
        f"LEFT JOIN {profile_map_sql(directory, profile_map)} AS m ON m.profile_id = d.profile_id"
    )


def first_touch_sql(
    directory: MirrorDirectory, entries: list[FileEntry], profile_map: FileEntry | None, workspace_id: int
) -> str:
    """Rows of first_touch files, the profile resolved and an erased person's channel NULL (as in events)."""
    columns = [("workspace_id", "INTEGER"), *FIRST_TOUCH_COLUMNS]
    if not entries:
        return empty(columns)
    scrubbed = ", ".join(f"CASE WHEN m.erased THEN NULL ELSE t.{n} END AS {n}" for n, _ in FIRST_TOUCH_COLUMNS[2:])
    return (
        f"SELECT CAST({int(workspace_id)} AS INTEGER) AS workspace_id, "
        f"coalesce(m.canonical_id, t.profile_id) AS profile_id, t.first_ms, {scrubbed} "
        f"FROM {files_sql(directory, entries)} AS t "
        f"LEFT JOIN {profile_map_sql(directory, profile_map)} AS m ON m.profile_id = t.profile_id"
    )
