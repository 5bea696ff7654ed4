"""Generate docs/cli.md from the commands themselves, so the reference cannot drift (a test compares)."""

from __future__ import annotations

from typing import Any

import typer


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")  # Typer ships its own copy of click: no isinstance checks


def _walk(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    if _is_group(command):
        for name in sorted(command.commands):
            found += _walk(command.commands[name], [*path, name])
    return found


def reference() -> str:
    from siyu.cli import _register_capabilities, app

    _register_capabilities()
    root = typer.main.get_command(app)
    lines = ["# CLI reference", "", "Generated from the commands' own help by `python -m siyu.cli_reference`.", ""]
    for path, command in _walk(root, ["siyu"]):
        if _is_group(command) and len(path) > 1:
            lines += [f"## `{' '.join(path)}`", "", (command.help or "").strip(), ""]
            continue
        if _is_group(command):
            continue
        lines += [f"### `{' '.join(path)}`", "", (command.help or "").strip().split("\n")[0], ""]
        params = [p for p in command.params if p.name != "help"]
        if params:
            lines += ["| argument / option | meaning |", "|---|---|"]
            for param in params:
                is_option = getattr(param, "param_type_name", "") == "option"
                names = ", ".join(param.opts) if is_option else param.name.upper()
                help_text = getattr(param, "help", None) or ""
                lines.append(f"| `{names}` | {help_text.replace('|', '/')} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
    target.write_text(reference(), encoding="utf-8")
    print(f"wrote {target}")
