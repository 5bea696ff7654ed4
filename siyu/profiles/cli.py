"""``siyu profiles show``, ``siyu export profiles`` and ``siyu tags add|remove``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

profiles_app = typer.Typer(help="Look at customer profiles.", no_args_is_help=True)
export_app = typer.Typer(help="Export data.", no_args_is_help=True)
tags_app = typer.Typer(help="Tag customers in bulk.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")
app.add_typer(export_app, name="export")
app.add_typer(tags_app, name="tags")


@profiles_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption,
         profile_id: Annotated[int | None, typer.Option("--id", help="Profile id.")] = None,
         type_: Annotated[str | None, typer.Option("--type", help="Identifier type, e.g. phone.")] = None,
         value: Annotated[str | None, typer.Option(help="Identifier value.")] = None,
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one profile: identities, traits, tags, consent, rollups."""
    from siyu.db.engine import read
    from siyu.identity import store as identity_store
    from siyu.identity.normalise import normalise
    from siyu.profiles import read_store
    from siyu.profiles.errors import ProfileNotFound
    from siyu.workspaces import store

    if (profile_id is None) == (type_ is None or value is None):
        raise fail("Give either --id, or --type and --value.")
    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        if profile_id is None:
            identifier = normalise(type_ or "", value, ws.default_region)
            profile_id = identity_store.find_profile_id(conn, ws.id, identifier)
            if profile_id is None:
                raise ProfileNotFound(f"No profile has {identifier.type} = {identifier.value}.")
        if not 1 <= profile_id <= 2**62:
            raise fail("--id must be a positive profile id.")
        detail = read_store.profile_detail(conn, ws.id, profile_id)
    if as_json:
        sys.stdout.write(json.dumps(detail, default=str, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"profile {detail['id']}", show_header=False)
    for identity in detail["identities"]:
        table.add_row(identity["type"], identity["value"])
    for key, trait in sorted(detail["traits"].items()):
        table.add_row(f"trait {key}", str(trait))
    table.add_row("tags", ", ".join(t["name"] for t in detail["tags"]) or "—")
    for key, rollup in detail["rollups"].items():
        table.add_row(key, str(rollup))
    for consent in detail["consent"]:
        table.add_row(f"consent {consent['channel']}/{consent['purpose']}", consent["status"])
    out.print(table)


@export_app.command("profiles")
@handles_errors
def export_profiles(workspace: WorkspaceOption,
                    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
                    output: Annotated[Path | None, typer.Option(help="File to write (default profiles.FORMAT).")] = None
                    ) -> None:
    """Export live profiles (streamed: memory stays flat for millions)."""
    from siyu.db.engine import read
    from siyu.profiles.export import export_profiles as run
    from siyu.workspaces import store

    if fmt not in ("csv", "xlsx"):
        raise fail("--format must be csv or xlsx.")
    path = output or Path(f"profiles.{fmt}")
    rt = runtime()
    with read(rt.engine) as conn:
        ws = store.get_workspace(conn, workspace)
    try:
        count = run(rt.engine, ws.id, path, fmt)
    except OSError as error:
        raise fail(f"Cannot write {path}: {error.strerror}") from None
    out.print(f"exported {count:,} profiles to {path}")


def _identifiers(file: Path, type_: str | None) -> list[tuple[str, str]]:
    from siyu.profiles.targeting import parse_identifier_list

    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")  # Excel on Chinese Windows saves GBK
    return parse_identifier_list(text, type_)


def _bulk(workspace: str, tag: str, file: Path | None, type_: str | None, trait: str | None, remove: bool) -> None:
    from siyu import clock
    from siyu.db.engine import write
    from siyu.profiles import read_store, tag_store
    from siyu.profiles.errors import TagNotFound
    from siyu.profiles.models import TagGroupKind
    from siyu.profiles.tagging import tag_profiles
    from siyu.profiles.targeting import build_filter, profile_ids_for
    from siyu.workspaces import store

    if (file is None) == (trait is None):
        raise fail("Give either --file (a list of identifiers) or --trait key:value.")
    if file is not None and not file.is_file():
        raise fail(f"No such file: {file}")
    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        try:
            found = tag_store.get_tag(conn, ws.id, name=tag)
        except TagNotFound:
            if remove:
                raise
            tag_store.create_tag(conn, ws.id, tag, group=None, kind=TagGroupKind.BUSINESS, description=None,
                                 at=clock.now())
            found = tag_store.get_tag(conn, ws.id, name=tag)
        if file is not None:
            ids, unknown, invalid = profile_ids_for(conn, ws.id, _identifiers(file, type_), ws.default_region)
            changed = tag_profiles(conn, ws.id, found, profile_ids=ids, source="bulk", actor="cli", remove=remove)
            out.print(f"{'untagged' if remove else 'tagged'} {changed:,} profiles ({len(ids):,} matched, "
                      f"{unknown:,} unknown, {invalid:,} invalid identifiers)")
            return
        key, sep, wanted = (trait or "").partition(":")
        if not sep:
            raise fail("--trait is written key:value.")
        where = build_filter(region=ws.default_region, trait_key=key, trait_value=wanted)
        matched = read_store.count_profiles(conn, ws.id, where)
        changed = tag_profiles(conn, ws.id, found, where=where, source="bulk", actor="cli", remove=remove)
    out.print(f"{'untagged' if remove else 'tagged'} {changed:,} of {matched:,} matching profiles")


@tags_app.command("add")
@handles_errors
def tags_add(workspace: WorkspaceOption, tag: Annotated[str, typer.Option(help="Tag name (created if new).")],
             file: Annotated[Path | None, typer.Option(help="Identifiers, one 'type,value' per line.")] = None,
             type_: Annotated[str | None, typer.Option("--type", help="Type of every value in --file.")] = None,
             trait: Annotated[str | None, typer.Option(help="Tag everyone with this trait, key:value.")] = None
             ) -> None:
    """Tag everyone in an uploaded list, or everyone matching a trait."""
    _bulk(workspace, tag, file, type_, trait, remove=False)


@tags_app.command("remove")
@handles_errors
def tags_remove(workspace: WorkspaceOption, tag: Annotated[str, typer.Option(help="Tag name.")],
                file: Annotated[Path | None, typer.Option(help="Identifiers, one 'type,value' per line.")] = None,
                type_: Annotated[str | None, typer.Option("--type", help="Type of every value in --file.")] = None,
                trait: Annotated[str | None, typer.Option(help="Untag everyone with this trait, key:value.")] = None
                ) -> None:
    """Remove a tag from everyone in a list, or everyone matching a trait."""
    _bulk(workspace, tag, file, type_, trait, remove=True)
