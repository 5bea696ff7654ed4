"""``siyu demo``: create the demo brand and serve it.

It asks nothing: the workspace, the console user and the membership are created when missing; a
workspace that already holds customers is served as it is (``--fresh`` deletes its data and
generates again), so a second ``siyu demo`` starts in seconds.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from siyu.cli import app, fail, handles_errors, out, runtime

if TYPE_CHECKING:
    from siyu.runtime import Runtime

DEMO_WORKSPACE = "demo"
DEMO_EMAIL = "demo@siyu.local"
DEMO_PASSWORD = "siyu-demo"
MAX_CUSTOMERS = 5_000_000


@app.command("demo")
@handles_errors
def demo(
    customers: Annotated[int, typer.Option(help="How many customers to generate (1000000: the big brand).")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same brand.")] = 42,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the console and API afterwards.")] = True,
    fresh: Annotated[bool, typer.Option(help="Delete the demo workspace's data and generate it again.")] = False,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Point the demo's channels at local fake providers "
                                          "(siyu sandbox) and print messages as they arrive.")] = False,
) -> None:
    """Generate a demo cosmetics brand (channels, customers, merges, orders) and serve it."""
    from siyu.db.engine import read
    from siyu.demo.broadcasts import broadcasts
    from siyu.demo.campaigns import campaigns
    from siyu.demo.distribution import distribution
    from siyu.demo.loyalty import loyalty
    from siyu.demo.loyalty_tasks import growth_tasks
    from siyu.demo.parcel_card import parcel_card
    from siyu.demo.store import summary
    from siyu.demo.surveys import surveys
    from siyu.demo.understand import understand

    if not 1 <= customers <= MAX_CUSTOMERS:
        raise fail(f"--customers must be between 1 and {MAX_CUSTOMERS}.")
    if not 0 <= seed < 2**63:
        raise fail("--seed must be between 0 and 2^63-1.")
    if serve:
        _check_port_is_free(host, port)  # before minutes of generating, not after
    rt = runtime(migrate=True)
    workspace_id, write_key, secret_key = _prepare(rt, fresh)
    with read(rt.engine) as conn:
        already = summary(conn, workspace_id)["profiles"] > 0
    started = time.monotonic()
    if already:
        out.print("演示品牌已生成（--fresh 重新生成）")
        out.print("The demo brand is already generated (--fresh regenerates it).")
    else:
        _generate_with_progress(rt, workspace_id, customers, seed)
    with read(rt.engine) as conn:
        figures = summary(conn, workspace_id)
    _print_summary(figures, None if already else time.monotonic() - started)
    if not already:
        _print_parcel_card(parcel_card(rt, workspace_id, seed=seed, customers=customers))
        out.print(f"分销 Distribution: {distribution(rt, workspace_id, seed=seed)}")
        out.print(f"裂变活动 Campaigns: {campaigns(rt, workspace_id, seed=seed)}")
        out.print(f"会员积分 Loyalty: {loyalty(rt, workspace_id, seed=seed)}")
        out.print(f"成长任务 Growth tasks: {growth_tasks(rt, workspace_id, seed=seed)}")
        _print_understanding(understand(rt, workspace_id))
        out.print(f"问卷 NPS survey: {surveys(rt, workspace_id, seed=seed)}")  # after understand: its buyers segment
        out.print(f"群发 Broadcast: {broadcasts(rt, workspace_id)}")  # after understand: its win-back segment
    url = f"http://{host}:{port}/"
    out.print(f"\n控制台 Console: [bold]{url}[/]  登录 login [bold]{DEMO_EMAIL}[/] / [bold]{DEMO_PASSWORD}[/]")
    out.print(f"Write key (ingest, /v1/*):  {write_key}")
    out.print(f"Secret key (owner, /api/*): {secret_key}")
    out.print(f"API docs: {url}api/docs   Data: {rt.engine.url.render_as_string()}")
    if serve:
        from siyu import serving

        stop_sandbox = _start_sandbox(rt) if sandbox else None
        try:
            serving.serve(rt, host, port, worker=True)
        finally:
            if stop_sandbox is not None:
                stop_sandbox()


def _start_sandbox(rt: Runtime) -> Callable[[], None]:
    """The sandbox's fakes in this process (the worker, a child of ``serve``, sends to them), the demo
    workspace's channels pointed at them, and a thread printing each message that arrives. Returns
    what stops them."""
    import threading

    from siyu.sandbox import Sandbox, apply_to_workspace

    fakes = Sandbox()
    apply_to_workspace(rt.engine, DEMO_WORKSPACE, fakes.settings())
    out.print("沙箱 Sandbox: the demo's WeChat, WeCom, SMS, e-mail and webhook channels send to local fakes; "
              "messages are printed as they arrive.")
    stopped = threading.Event()

    def show() -> None:
        while not stopped.wait(0.5):
            for arrival in fakes.poll():
                out.print(arrival.line(), highlight=False, markup=False)

    threading.Thread(target=show, name="sandbox-arrivals", daemon=True).start()

    def stop() -> None:
        stopped.set()
        fakes.stop()

    return stop


def _print_parcel_card(found: dict[str, int]) -> None:
    out.print(f"\n包裹卡 Parcel card: {found['adds']:,} added 小完子, {found['rewards_sent']:,} red packets paid "
              f"({found['paid_fen'] / 100:,.2f} CNY), {found['rewards_refused']:,} refused (budget spent), "
              f"{found['joined_group']:,} joined the welfare group")


def _print_understanding(found: dict[str, Any]) -> None:
    out.print("\n分群 Segments: " + "  ".join(f"{name} {size:,}" for name, size in found["segments"].items()))
    stages = sorted(found["lifecycle"].items())
    out.print("生命周期 Lifecycle: " + "  ".join(f"{stage} {count:,}" for stage, count in stages))
    out.print(f"客户价值 Customer value: BG/NBD + Gamma-Gamma fitted on {found['clv_customers']:,} buyers; "
              f"auto-tag rule 高消费 tagged {found['big_spenders']:,}")


def _check_port_is_free(host: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise fail("--port must be between 1 and 65535.")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise fail(f"Cannot listen on {host}:{port} ({error.strerror}); choose another --port or stop what "
                   "is using it, or pass --no-serve.") from None


def _prepare(rt: Runtime, fresh: bool) -> tuple[int, str, str]:
    """The demo workspace (created when missing, emptied with ``--fresh``), its console user, and a
    new write key and owner key: keys are stored hashed, so old ones cannot be shown again."""
    from siyu.db.engine import write
    from siyu.workspaces import store
    from siyu.workspaces.models import KeyKind, Role

    with write(rt.engine) as conn:
        existing = [w for w in store.list_workspaces(conn) if w.name == DEMO_WORKSPACE]
        workspace = existing[0] if existing else store.create_workspace(
            conn, DEMO_WORKSPACE, display_name="悦妆 Demo · Yuezhuang beauty (demo)")
        user = store.find_user_by_email(conn, DEMO_EMAIL) or store.create_user(
            conn, DEMO_EMAIL, DEMO_PASSWORD, display_name="Demo operator")
        if all(w.id != workspace.id for w, _ in store.memberships(conn, user.id)):
            store.add_member(conn, workspace.id, user.id, Role.OWNER)
        _, write_key = store.create_key(conn, workspace.id, KeyKind.WRITE, name="demo write key")
        _, secret_key = store.create_key(conn, workspace.id, KeyKind.SECRET, role=Role.OWNER, name="demo owner key")
        if fresh:
            store.delete_workspace_data(conn, workspace.id)
    return workspace.id, write_key, secret_key


def _generate_with_progress(rt: Runtime, workspace_id: int, customers: int, seed: int) -> None:
    from siyu.demo.generate import generate

    with Progress(TextColumn("生成顾客 generating customers"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[events]:,} events"), TimeElapsedColumn(), console=out) as bar:
        task = bar.add_task("demo", total=customers, events=0)

        def advance(people: int, events: int) -> None:
            bar.update(task, advance=people, events=bar.tasks[0].fields["events"] + events)

        generate(rt, workspace_id, customers=customers, seed=seed, progress=advance)


def _print_summary(figures: dict[str, Any], seconds: float | None) -> None:
    title = "演示品牌 Demo brand 悦妆 Yuezhuang" + (f" (generated in {seconds:.0f} s)" if seconds else "")
    table = Table(title=title)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in (("顾客 customers (profiles)", "profiles"), ("事件 events", "events"),
                       ("订单 orders", "orders"), ("合并 merges", "merges"),
                       ("拒绝的合并 identity conflicts refused", "conflicts")):
        table.add_row(label, f"{figures[key]:,}")
    table.add_row("销售额 revenue (CNY)", f"{figures['revenue']:,.2f}")
    for channel, count in figures["by_channel"].items():
        table.add_row(f"  首次渠道 first channel: {channel}", f"{count:,}")
    out.print(table)
