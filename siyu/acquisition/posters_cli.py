"""``siyu posters``: poster templates and rendering one person's poster to a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

posters_app = typer.Typer(help="Posters (海报): personalised share posters with each person's own QR.",
                          no_args_is_help=True)
app.add_typer(posters_app, name="posters")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise fail(f"Cannot read {path}: {error}") from None


def _workspace(conn: Any, workspace: str) -> Any:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace)


@posters_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption, name: Annotated[str, typer.Argument(help="A name for operators.")],
           background: Annotated[Path, typer.Option(help="The background image (PNG or JPEG).")],
           layout: Annotated[Path, typer.Option(help="The layout, a JSON file (see docs/posters.md).")],
           target_url: Annotated[str, typer.Option(help="Where a person's share link leads.")],
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """Create a poster template."""
    from siyu import clock
    from siyu.acquisition import posters_store as store
    from siyu.acquisition.posters import check_background, parse_layout
    from siyu.db.engine import write

    data = _read(background)
    mime, width, height = check_background(data)
    try:
        raw = json.loads(_read(layout).decode("utf-8-sig"))
    except ValueError as error:
        raise fail(f"{layout} is not valid JSON: {error}") from None
    parse_layout(raw, width, height)
    if not target_url.startswith(("http://", "https://")) or not 1 <= len(name) <= 200:
        raise fail("--target-url must be an http(s) URL and the name 1-200 characters.")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        template_id = store.create_template(conn, ws.id, name=name, background=data, mime=mime, width=width,
                                            height=height, layout=raw, target_url=target_url, now=clock.now())
    if as_json:
        sys.stdout.write(json.dumps({"id": template_id, "width": width, "height": height}) + "\n")
    else:
        out.print(f"poster template {template_id} 「{name}」 {width}×{height}")


@posters_app.command("render")
@handles_errors
def render(workspace: WorkspaceOption,
           template: Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The template's id.")],
           profile: Annotated[int, typer.Argument(min=1, max=2**62, help="The person's profile id.")],
           output: Annotated[Path, typer.Option("--out", help="Where to write the PNG.")],
           avatar: Annotated[Path | None, typer.Option(help="Use this avatar image instead of the fetched one.")]
           = None) -> None:
    """Render one person's poster to a PNG file."""
    from siyu.acquisition.posters_live import poster_png
    from siyu.db.engine import read

    rt = runtime()
    with read(rt.engine) as conn:
        ws = _workspace(conn, workspace)
    png = poster_png(rt, ws.id, template, profile, avatar=_read(avatar) if avatar else None)
    try:
        output.write_bytes(png)
    except OSError as error:
        raise fail(f"Cannot write {output}: {error}") from None
    out.print(f"wrote {output} ({len(png) // 1024} KB)")
