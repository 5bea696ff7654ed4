"""``siyu demo``: create the demo brand and serve it."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from siyu.cli import app, fail, handles_errors, out, runtime

DEMO_WORKSPACE = "demo"
DEMO_EMAIL = "demo@siyu.local"
DEMO_PASSWORD = "siyu-demo"


@app.command("demo")
@handles_errors
def demo(
    customers: Annotated[int, typer.Option(help="How many customers to generate (1000000: the big brand).")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same brand.")] = 42,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the console and API afterwards.")] = True,
    fresh: Annotated[bool, typer.Option(help="Delete the demo workspace's data and generate it again.")] = False,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
) -> None:
    """Generate a demo cosmetics brand (channels, customers, merges, orders) and serve it."""
    from siyu.db.engine import read, write
    from siyu.demo.generate import generate
    from siyu.demo.store import summary
    from siyu.workspaces import store
    from siyu.workspaces.models import KeyKind, Role

    if customers < 1 or customers > 5_000_000:
        raise fail("--customers must be between 1 and 5000000.")
    rt = runtime(migrate=True)
    with write(rt.engine) as conn:
        existing = [w for w in store.list_workspaces(conn) if w.name == DEMO_WORKSPACE]
        workspace = existing[0] if existing else store.create_workspace(
            conn, DEMO_WORKSPACE, display_name="完美日记 Demo · Perfect Diary demo")
        user = store.find_user_by_email(conn, DEMO_EMAIL) or store.create_user(
            conn, DEMO_EMAIL, DEMO_PASSWORD, display_name="Demo operator")
        if all(w.id != workspace.id for w, _ in store.memberships(conn, user.id)):
            store.add_member(conn, workspace.id, user.id, Role.OWNER)
        _, write_key = store.create_key(conn, workspace.id, KeyKind.WRITE, name="demo write key")
        _, secret_key = store.create_key(conn, workspace.id, KeyKind.SECRET, role=Role.OWNER, name="demo owner key")
        if fresh:
            store.delete_workspace_data(conn, workspace.id)
    with read(rt.engine) as conn:
        already = summary(conn, workspace.id)["profiles"] > 0
    started = time.monotonic()
    if already:
        out.print(f"The demo brand is already generated in {rt.config.data_dir} (use --fresh to regenerate).")
    else:
        with Progress(TextColumn("generating customers"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[events]} events"), TimeElapsedColumn(), console=out) as bar:
            task = bar.add_task("demo", total=customers, events=0)

            def advance(people: int, events: int) -> None:
                bar.update(task, advance=people, events=bar.tasks[0].fields["events"] + events)

            generate(rt, workspace.id, customers=customers, seed=seed, progress=advance)
    with read(rt.engine) as conn:
        figures = summary(conn, workspace.id)
    _print_summary(figures, time.monotonic() - started if not already else None)
    url = f"http://{host}:{port}/"
    out.print(f"\nConsole: [bold]{url}[/]  login [bold]{DEMO_EMAIL}[/] / [bold]{DEMO_PASSWORD}[/]")
    out.print(f"Write key (ingest, /v1/*):  {write_key}")
    out.print(f"Secret key (owner, /api/*): {secret_key}")
    out.print(f"API docs: {url}api/docs   Data: {rt.engine.url.render_as_string()}")
    if serve:
        import uvicorn

        from siyu.api.app import create_app

        uvicorn.run(create_app(rt), host=host, port=port, log_level=rt.config.log_level, access_log=False)


def _print_summary(figures: dict, seconds: float | None) -> None:  # type: ignore[type-arg]
    table = Table(title="Demo brand 完美日记 Demo" + (f" (generated in {seconds:.0f} s)" if seconds else ""))
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in (("customers (profiles)", "profiles"), ("events", "events"), ("orders", "orders"),
                       ("merges", "merges"), ("identity conflicts refused", "conflicts")):
        table.add_row(label, f"{figures[key]:,}")
    table.add_row("revenue (CNY)", f"{figures['revenue']:,.2f}")
    for channel, count in figures["by_channel"].items():
        table.add_row(f"  first channel: {channel}", f"{count:,}")
    out.print(table)
