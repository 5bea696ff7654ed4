"""``siyu group-codes``: group live codes (群活码) — create, add a group's QR, show, figures, alerts."""

from __future__ import annotations

import hashlib
import json
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

codes_app = typer.Typer(help="Group live codes (群活码): one page that always shows a group with room.",
                        no_args_is_help=True)
app.add_typer(codes_app, name="group-codes")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CodeArgument = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The code's id.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace(conn: Any, workspace: str) -> Any:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace)


def _describe(conn: Any, workspace_id: int, code_id: int) -> dict[str, Any]:
    from siyu import clock
    from siyu.acquisition import group_codes_live as live
    from siyu.acquisition import group_codes_store as store

    code = store.get_code(conn, workspace_id, code_id)
    if code is None:
        raise fail(f"No group live code {code_id} in this workspace.")
    rows = store.entries_of(conn, workspace_id, code_id)
    now = clock.now()
    groups = [{k: v for k, v in row.items() if k not in ("workspace_id", "qr_sha256")} | {"state": e.state(now).value}
              for row, e in zip(rows, live.entries(rows), strict=True)]
    return {**code, "page_url": f"{runtime().config.public_url}/g/{code['token']}", "groups": groups}


def _show(found: dict[str, Any]) -> None:
    out.print(f"group code {found['id']} 「{found['name']}」 {found['status']}, {found['strategy']}: "
              f"{found['page_url']}")
    for group in found["groups"]:
        out.print(f"  {group['id']}\t{group['label']}\t{group['count']}/{group['capacity']}\t{group['state']}"
                  f"\texpires {group['expires_at']:%Y-%m-%d %H:%M}")


@codes_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption, name: Annotated[str, typer.Argument(help="A name for operators.")],
           title: Annotated[str | None, typer.Option(help="Shown on the public page.")] = None,
           strategy: Annotated[str, typer.Option(help="in_order or least_full.")] = "in_order",
           webhook: Annotated[str | None, typer.Option(help="URL that receives alerts (JSON POST).")] = None,
           as_json: JsonOption = False) -> None:
    """Create a group live code; prints its public page address."""
    from siyu import clock
    from siyu.acquisition import group_codes_store as store
    from siyu.acquisition.group_codes import Strategy
    from siyu.db.engine import write

    if strategy not in {s.value for s in Strategy}:
        raise fail("--strategy is in_order or least_full.")
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise fail("--webhook must be an http(s) URL.")
    if not 1 <= len(name) <= 200:
        raise fail("The name is 1-200 characters.")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        code_id = store.create_code(conn, ws.id, token=secrets.token_urlsafe(12), name=name, title=title,
                                    strategy=strategy, alert_webhook_url=webhook, now=clock.now())
        found = _describe(conn, ws.id, code_id)
    _print(found) if as_json else _show(found)


@codes_app.command("add-group")
@handles_errors
def add_group(workspace: WorkspaceOption, code: CodeArgument,
              image: Annotated[Path, typer.Argument(help="The group's QR image (PNG or JPEG).")],
              label: Annotated[str, typer.Option(help="The group's name on the page.")],
              capacity: Annotated[int, typer.Option(min=1, max=100_000)] = 200,
              group: Annotated[int | None, typer.Option(min=1, help="A community group id to count from.")] = None,
              expires_at: Annotated[datetime | None, typer.Option(help="Default: 7 days from now.")] = None,
              as_json: JsonOption = False) -> None:
    """Add a group (its QR image) to a code."""
    from siyu import clock
    from siyu.acquisition import group_codes_store as store
    from siyu.acquisition.group_codes import QR_VALIDITY, check_image
    from siyu.db.engine import write
    from siyu.groups import store as group_store

    try:
        data = image.read_bytes()
    except OSError as error:
        raise fail(f"Cannot read {image}: {error}") from None
    mime, _, _ = check_image(data)
    now = clock.now()
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        raise fail("--expires-at must be in the future, with a time zone (2026-12-07T12:00:00+08:00).")
    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        _describe(conn, ws.id, code)
        if group is not None and group_store.get_group(conn, ws.id, group) is None:
            raise fail(f"No community group {group} in this workspace.")
        store.add_entry(conn, ws.id, code, label=label, capacity=capacity, manual_count=0, group_id=group,
                        image=data, mime=mime, sha256=hashlib.sha256(data).hexdigest(), uploaded_at=now,
                        expires_at=expires_at or now + QR_VALIDITY, position=None)
        found = _describe(conn, ws.id, code)
    _print(found) if as_json else _show(found)


@codes_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption, code: CodeArgument, as_json: JsonOption = False) -> None:
    """A code: its page address and each group's count, capacity, state and expiry."""
    from siyu.db.engine import read

    with read(runtime().engine) as conn:
        found = _describe(conn, _workspace(conn, workspace).id, code)
    _print(found) if as_json else _show(found)


@codes_app.command("alerts")
@handles_errors
def alerts(workspace: WorkspaceOption, code: Annotated[int | None, typer.Argument(min=1)] = None,
           as_json: JsonOption = False) -> None:
    """Alerts (no group left, last group nearly full or expiring), newest first."""
    from siyu.acquisition import group_codes_store as store
    from siyu.db.engine import read

    with read(runtime().engine) as conn:
        found = store.alerts_of(conn, _workspace(conn, workspace).id, code)
    if as_json:
        _print(found)
        return
    for alert in found:
        out.print(f"{alert['created_at']:%Y-%m-%d %H:%M}\tcode {alert['code_id']}\t{alert['kind']}\t{alert['message']}")
