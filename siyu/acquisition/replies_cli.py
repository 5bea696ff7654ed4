"""``siyu replies``: keyword / menu reply rules and the default welcome messages, for scripts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

replies_app = typer.Typer(help="Keyword / menu-click replies and welcome messages (关键词回复 / 欢迎语).",
                          no_args_is_help=True)
app.add_typer(replies_app, name="replies")
RuleArgument = Annotated[int, typer.Argument(min=1, max=2**62, help="The rule's id.")]
FileArgument = Annotated[Path, typer.Argument(help="A JSON or YAML file ('-' reads stdin).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
PlatformArgument = Annotated[str, typer.Argument(help="wechat (a follow) or wecom (a customer added).")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _load(path: Path) -> Any:
    import yaml

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
        return yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise fail(f"Cannot read {path} as JSON or YAML: {error}") from None


def _line(rule: dict[str, Any]) -> str:
    state = "on" if rule["enabled"] else "off"
    return (f"rule {rule['id']} 「{rule['name']}」 {rule['trigger']}/{rule['match']} {rule['patterns']} "
            f"priority {rule['priority']}, {state}, matched {rule['match_count']} times")


def _workspace_id(conn: Any, workspace: str) -> int:
    from siyu.workspaces import store

    return int(store.get_workspace(conn, workspace).id)


@replies_app.command("list")
@handles_errors
def list_rules(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """The reply rules, in the order they are tried, with their match counts."""
    from siyu.acquisition import replies_store
    from siyu.db.engine import read

    with read(runtime().engine) as conn:
        rules = [r.as_dict() for r in replies_store.rules_of(conn, _workspace_id(conn, workspace))]
    if as_json:
        _print(rules)
        return
    for rule in rules:
        out.print(_line(rule))


@replies_app.command("add")
@handles_errors
def add(workspace: WorkspaceOption, file: FileArgument, as_json: JsonOption = False) -> None:
    """Create a rule from a file: name, trigger (keyword | menu), match, patterns, priority, reply, variants."""
    from siyu.acquisition import replies_service
    from siyu.db.engine import write

    body = _load(file)
    with write(runtime().engine) as conn:
        rule = replies_service.save_rule(conn, _workspace_id(conn, workspace), body).as_dict()
    _print(rule) if as_json else out.print(_line(rule))


@replies_app.command("update")
@handles_errors
def update(workspace: WorkspaceOption, rule_id: RuleArgument, file: FileArgument, as_json: JsonOption = False) -> None:
    """Change a rule: the fields in the file replace the rule's."""
    from siyu.acquisition import replies_service
    from siyu.db.engine import write

    body = _load(file)
    with write(runtime().engine) as conn:
        rule = replies_service.save_rule(conn, _workspace_id(conn, workspace), body, rule_id).as_dict()
    _print(rule) if as_json else out.print(_line(rule))


@replies_app.command("enable")
@handles_errors
def enable(workspace: WorkspaceOption, rule_id: RuleArgument,
           off: Annotated[bool, typer.Option("--off", help="Disable it instead.")] = False) -> None:
    """Switch a rule on (or off with --off)."""
    from siyu.acquisition import replies_service
    from siyu.db.engine import write

    with write(runtime().engine) as conn:
        rule = replies_service.save_rule(conn, _workspace_id(conn, workspace), {"enabled": not off}, rule_id)
    out.print(_line(rule.as_dict()))


@replies_app.command("delete")
@handles_errors
def delete(workspace: WorkspaceOption, rule_id: RuleArgument) -> None:
    """Delete a rule."""
    from siyu.acquisition import replies_store
    from siyu.db.engine import write

    with write(runtime().engine) as conn:
        replies_store.delete_rule(conn, _workspace_id(conn, workspace), rule_id)
    out.print(f"rule {rule_id} deleted")


@replies_app.command("welcome")
@handles_errors
def welcome(workspace: WorkspaceOption, platform: PlatformArgument,
            file: Annotated[Path | None, typer.Argument(help="The message template, JSON or YAML; none shows it.")]
            = None,
            off: Annotated[bool, typer.Option("--off", help="Keep it, but greet nobody.")] = False,
            as_json: JsonOption = False) -> None:
    """Show or set the default welcome message of a platform."""
    from siyu.acquisition import replies_service, replies_store
    from siyu.acquisition.replies import RepliesError
    from siyu.db.engine import write

    with write(runtime().engine) as conn:
        workspace_id = _workspace_id(conn, workspace)
        if file is None and not off:
            found = replies_store.welcome_of(conn, workspace_id, platform)
            if found is None:
                raise RepliesError(f"No {platform} welcome message is set.")
        else:
            current = replies_store.welcome_of(conn, workspace_id, platform)
            content = _load(file) if file is not None else (current or {}).get("content")
            found = replies_service.save_welcome(conn, workspace_id, platform, {"content": content, "enabled": not off})
    if as_json:
        _print(found)
    else:
        state = "on" if found["enabled"] else "off"
        out.print(f"{platform} welcome message: {state}, sent {found['sent_count']} times")
        out.print(json.dumps(found["content"], ensure_ascii=False))
