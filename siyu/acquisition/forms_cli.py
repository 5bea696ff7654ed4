"""``siyu forms``: create hosted forms from a JSON or YAML file, list them, read their figures and
submissions, archive them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

forms_app = typer.Typer(help="Hosted forms (留资页): phone capture with SMS verification and consent.",
                        no_args_is_help=True)
app.add_typer(forms_app, name="forms")
FormArgument = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The form's id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _read(path: Path) -> Any:
    import yaml

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
        return yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise fail(f"Cannot read {path}: {error}") from None


def _workspace_id(conn: Any, workspace: str) -> int:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace).id


@forms_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption, file: Annotated[Path, typer.Argument(help="The definition, JSON or YAML "
                                                                                 "('-' reads stdin).")],
           as_json: JsonOption = False) -> None:
    """Create a form; prints its public address."""
    from siyu import clock
    from siyu.acquisition import forms_store
    from siyu.acquisition.forms import parse_definition
    from siyu.db.engine import write

    definition = parse_definition(_read(file)).as_json()
    rt = runtime()
    with write(rt.engine) as conn:
        form = forms_store.create_form(conn, _workspace_id(conn, workspace), definition, clock.now())
    url = f"{rt.config.public_url}/f/{form['slug']}"
    if as_json:
        _print({**form, "url": url})
        return
    out.print(f"form {form['id']} 「{form['name']}」 at {url}")


@forms_app.command("list")
@handles_errors
def list_forms(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Every form, newest first."""
    from siyu.acquisition import forms_store
    from siyu.db.engine import read

    rt = runtime()
    with read(rt.engine) as conn:
        found = forms_store.list_forms(conn, _workspace_id(conn, workspace))
        counts = {f["id"]: forms_store.submission_count(conn, _workspace_id(conn, workspace), f["id"]) for f in found}
    if as_json:
        _print([{**f, "submissions": counts[f["id"]]} for f in found])
        return
    table = Table("id", "name", "status", "version", "submissions", "address")
    for form in found:
        table.add_row(str(form["id"]), form["name"], form["status"], str(form["version"]),
                      str(counts[form["id"]]), f"{rt.config.public_url}/f/{form['slug']}")
    out.print(table)


@forms_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption, form_id: FormArgument, as_json: JsonOption = False) -> None:
    """A form's figures per day: views, codes sent, submissions."""
    from siyu.acquisition import forms_store
    from siyu.db.engine import read

    with read(runtime().engine) as conn:
        from siyu.workspaces import store as workspace_store

        found = workspace_store.get_workspace(conn, workspace)
        workspace_id = found.id
        form = forms_store.get_form(conn, workspace_id, form_id)
        days = forms_store.daily_figures(conn, workspace_id, form_id, found.timezone)
    if as_json:
        _print({**form, "days": days})
        return
    out.print(f"form {form['id']} 「{form['name']}」 {form['status']}, version {form['version']}")
    table = Table("day", "views", "codes sent", "codes failed", "submissions")
    for day, figures in days.items():
        table.add_row(day, *(str(figures[k]) for k in ("views", "codes_sent", "codes_failed", "submissions")))
    out.print(table)


@forms_app.command("submissions")
@handles_errors
def submissions(workspace: WorkspaceOption, form_id: FormArgument,
                limit: Annotated[int, typer.Option(min=1, max=10000)] = 100) -> None:
    """Submissions as JSON lines, newest first (phone, answers, channel, consent evidence)."""
    from siyu.acquisition import forms_store
    from siyu.db.engine import read

    with read(runtime().engine) as conn:
        workspace_id = _workspace_id(conn, workspace)
        forms_store.get_form(conn, workspace_id, form_id)
        for row in forms_store.submissions(conn, workspace_id, form_id, limit=limit):
            _print(row)


@forms_app.command("archive")
@handles_errors
def archive(workspace: WorkspaceOption, form_id: FormArgument) -> None:
    """Close a form: its page says so and takes no more answers."""
    from siyu import clock
    from siyu.acquisition import forms_store
    from siyu.db.engine import write

    with write(runtime().engine) as conn:
        form = forms_store.update_form(conn, _workspace_id(conn, workspace), form_id, definition=None,
                                       status="archived", now=clock.now())
    out.print(f"form {form['id']} archived")
