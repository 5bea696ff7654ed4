"""``siyu workspace settings``: read a workspace's settings (secrets masked) and change them by merge
patch, checked section by section as the API does."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, fail, handles_errors, out, runtime, workspace_app

settings_app = typer.Typer(help="The workspace's settings document (channels, contact policies, identity rules).",
                           no_args_is_help=True)
workspace_app.add_typer(settings_app, name="settings")


def _read_patch(path: str) -> Any:
    import yaml

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise fail(f"cannot read {path}: {error.strerror}") from None
    try:
        return yaml.safe_load(text)  # JSON is YAML
    except yaml.YAMLError as error:
        raise fail(f"{path} is not valid JSON or YAML: {error}") from None


def _assignment(text: str) -> dict[str, Any]:
    """``messaging.cooldown_minutes=60`` → ``{"messaging": {"cooldown_minutes": 60}}`` (the value read as
    JSON when it is JSON, else as a string; ``null`` removes the key)."""
    path, sep, raw = text.partition("=")
    keys = [k for k in path.strip().split(".") if k]
    if not sep or not keys:
        raise fail(f"--set takes path=value, e.g. messaging.cooldown_minutes=60 (got {text!r})")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    patch: dict[str, Any] = {keys[-1]: value}
    for key in reversed(keys[:-1]):
        patch = {key: patch}
    return patch


@settings_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption) -> None:
    """Print the settings as JSON, secrets masked."""
    from siyu.db.engine import read
    from siyu.workspaces import store
    from siyu.workspaces.settings import redact

    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
    sys.stdout.write(json.dumps(redact(ws.settings), ensure_ascii=False, indent=2) + "\n")


@settings_app.command("set")
@handles_errors
def set_settings(
    workspace: WorkspaceOption,
    file: Annotated[str | None, typer.Option("--file", "-f", help="A JSON or YAML merge patch; - for stdin.")] = None,
    assignments: Annotated[list[str] | None, typer.Option("--set", help="path=value, repeatable.")] = None,
) -> None:
    """Change settings by JSON merge patch (keys given replace, null removes). Each section is
    checked by the capability that reads it; nothing is stored if any is refused."""
    from siyu.db.engine import read, write
    from siyu.workspaces import store
    from siyu.workspaces.settings import merge_patch, redact, validate

    if file is None and not assignments:
        raise fail("give --file PATCH (JSON or YAML) or --set path=value")
    patches = ([_read_patch(file)] if file is not None else []) + [_assignment(a) for a in assignments or []]
    rt = runtime()
    with read(rt.engine) as conn:
        workspace_id = store.get_workspace(conn, workspace).id
    with write(rt.engine) as conn:
        ws = store.workspace_for_update(conn, workspace_id)
        merged = ws.settings
        for patch in patches:
            merged = merge_patch(merged, patch)
        validate(merged, ws.timezone)
        store.update_workspace_settings(conn, ws.id, merged)
    out.print(f"settings of workspace [bold]{ws.name}[/] updated")
    sys.stdout.write(json.dumps(redact(merged), ensure_ascii=False, indent=2) + "\n")
