"""The ``siyu`` command: the front door for operators and scripts.

Every command that acts inside a workspace takes ``--workspace`` (id or name). Errors print a
clear message and exit with status 2; ``--json`` output is for scripts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from siyu.errors import SiyuError

app = typer.Typer(name="siyu", help="siyu (私域): private-domain customer operations.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (one per brand).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
users_app = typer.Typer(help="Console users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workspace_app, name="workspace")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")

err = Console(stderr=True)
out = Console()
F = TypeVar("F", bound=Callable[..., Any])

WorkspaceOption = Annotated[str, typer.Option("--workspace", "-w", help="Workspace id or name.")]


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def handles_errors(function: F) -> F:
    """Turn a SiyuError into a message and exit status 2 (never a traceback)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except SiyuError as error:
            raise fail(error.message) from None

    return wrapper  # type: ignore[return-value]


def runtime(migrate: bool = True):  # noqa: ANN201 - Runtime, imported lazily to keep `siyu --help` fast
    from siyu.runtime import Runtime

    try:
        return Runtime.from_config(migrate=migrate)
    except Exception as error:  # noqa: BLE001 - shown to the operator, exit 2
        raise fail(f"Cannot open the database: {error}") from None


@db_app.command("upgrade")
@handles_errors
def db_upgrade() -> None:
    """Apply all database migrations."""
    from siyu.db.migrate import current_revision

    rt = runtime(migrate=True)
    out.print(f"database at revision [bold]{current_revision(rt.engine)}[/]")


@workspace_app.command("create")
@handles_errors
def workspace_create(
    name: Annotated[str, typer.Argument(help="Short name: lower-case letters, digits, '-' or '_'.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the brand.")] = "Asia/Shanghai",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create a workspace with a write key and an owner secret key."""
    from siyu.db.engine import write
    from siyu.workspaces import store
    from siyu.workspaces.models import KeyKind, Role

    rt = runtime()
    with write(rt.engine) as conn:
        ws = store.create_workspace(conn, name, display_name=display_name, timezone=timezone)
        _, write_key = store.create_key(conn, ws.id, KeyKind.WRITE, name="default write key")
        _, secret_key = store.create_key(conn, ws.id, KeyKind.SECRET, role=Role.OWNER, name="owner key")
    result = {"workspace_id": ws.id, "write_key": write_key, "secret_key": secret_key}
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    out.print(f"workspace [bold]{ws.name}[/] (id {ws.id})")
    out.print(f"write key  (ingest):      {write_key}")
    out.print(f"secret key (owner role):  {secret_key}")
    out.print("[dim]Keys are shown only once.[/]")


@workspace_app.command("list")
@handles_errors
def workspace_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List workspaces."""
    from siyu.db.engine import read
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        items = store.list_workspaces(conn)
    if as_json:
        sys.stdout.write(json.dumps([{"id": w.id, "name": w.name, "display_name": w.display_name} for w in items])
                         + "\n")
        return
    for w in items:
        out.print(f"{w.id}\t{w.name}\t{w.display_name}")


@keys_app.command("create")
@handles_errors
def keys_create(
    workspace: WorkspaceOption,
    kind: Annotated[str, typer.Option(help="write (ingest only) or secret (management API).")] = "secret",
    role: Annotated[str | None, typer.Option(help="Role of a secret key: owner, operator, analyst, staff.")] = None,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key (shown once)."""
    from siyu.db.engine import write
    from siyu.workspaces import store
    from siyu.workspaces.models import KeyKind, Role

    if kind not in ("write", "secret"):
        raise fail("--kind must be 'write' or 'secret'.")
    if role is not None and role not in {r.value for r in Role}:
        raise fail("--role must be one of owner, operator, analyst, staff.")
    if kind == "secret" and role is None:
        raise fail("A secret key needs --role (owner, operator, analyst or staff).")
    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        key, plaintext = store.create_key(conn, ws.id, KeyKind(kind), role=Role(role) if role else None, name=name)
    if as_json:
        sys.stdout.write(json.dumps({"id": key.id, "kind": kind, "role": role, "key": plaintext}) + "\n")
        return
    out.print(plaintext)


@users_app.command("create")
@handles_errors
def users_create(
    workspace: WorkspaceOption,
    email: Annotated[str, typer.Argument(help="Login e-mail.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="At least 8 characters.")],
    role: Annotated[str, typer.Option(help="owner, operator, analyst or staff.")] = "operator",
    locale: Annotated[str | None, typer.Option(help="zh-CN or en; default follows the browser.")] = None,
) -> None:
    """Create a console user in a workspace."""
    from siyu.db.engine import write
    from siyu.workspaces import store
    from siyu.workspaces.models import Role

    if role not in {r.value for r in Role}:
        raise fail("--role must be one of owner, operator, analyst, staff.")
    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        user = store.find_user_by_email(conn, email) or store.create_user(conn, email, password, locale=locale)
        store.add_member(conn, ws.id, user.id, Role(role))
    out.print(f"user {user.email} is {role} of {ws.name}")


@app.command("serve")
@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help=(
        "Also run `siyu worker` in a child process (real-time segments, scheduled refresh, scores, the "
        "analytics mirror). Turn off when workers run elsewhere."))] = True,
    processes: Annotated[int, typer.Option(min=1, max=64, help=(
        "Server processes sharing the port (PostgreSQL only: SQLite has one writer). Each has its own "
        "interpreter, so a busy server uses every core."))] = 1,
) -> None:
    """Serve the ingest API, the management API and the console."""
    from siyu import serving

    rt = runtime(migrate=True)
    if processes > 1 and rt.config.is_sqlite:
        raise fail("--processes above 1 needs PostgreSQL (SIYU_DATABASE_URL): SQLite takes one writer at a time, "
                   "and processes would queue on its lock.")
    out.print(f"siyu serving on http://{host}:{port}/  (database: {rt.engine.url.render_as_string()}"
              + (f", {processes} processes)" if processes > 1 else ")"))
    serving.serve(rt, host, port, worker=worker, processes=processes)


@app.command("worker")
@handles_errors
def worker(once: Annotated[bool, typer.Option("--once", help="One pass, then exit (for cron or tests).")] = False,
           interval: Annotated[float, typer.Option(min=0.1, max=3600, help="Seconds between passes.")] = 1.0) -> None:
    """Follow the event log: real-time segments, the scheduled refresh, daily scores, the analytics mirror."""
    import threading

    from siyu.analytics.mirror_loop import MirrorSyncLoop
    from siyu.ingest.resolver import ResolverLoop
    from siyu.serving import watch_for_stop
    from siyu.worker import run_forever, run_pass

    rt = runtime()
    mirror = MirrorSyncLoop(rt)
    resolver = ResolverLoop(rt.engine)
    if once:
        result = run_pass(rt)
        mirror.run_once()
        out.print(f"{result.events:,} events evaluated; refreshed workspaces: {result.refreshed or '—'}")
        return
    stop = threading.Event()
    watch_for_stop(stop)  # SIGTERM, or (started by `siyu serve`) the server gone
    out.print("siyu worker running; Ctrl-C to stop")
    mirror.start()  # the analytics mirror too (several processes may sync: a file lock takes turns)
    resolver.start()  # acknowledged events into profiles within a fraction of a second
    try:
        run_forever(rt, stop, interval)
    except KeyboardInterrupt:
        stop.set()
    finally:
        resolver.stop()
        mirror.stop()


@app.command("sandbox")
@handles_errors
def sandbox(
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace id or name to point at the "
                                                  "sandbox (with --apply).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Save the sandbox channel settings into the workspace "
                                        "(replaces its wechat, wecom, sms, email and webhook settings).")] = False,
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
) -> None:
    """Local fake WeChat, WeCom, Aliyun SMS, SMTP and webhook servers; shows messages as they arrive."""
    import threading

    from siyu.sandbox import Sandbox, apply_to_workspace, is_loopback
    from siyu.serving import watch_for_stop

    if apply and not workspace:
        raise fail("--apply needs --workspace.")
    if not is_loopback(host):
        raise fail("--host must be a loopback address (127.0.0.1, ::1 or localhost): the fakes accept anyone.")
    stop = threading.Event()
    watch_for_stop(stop)  # a SIGTERM handler that sets the event itself can deadlock (see watch_for_stop)
    with Sandbox(host) as fakes:
        channels = fakes.settings()
        if apply:
            workspace_id, name = apply_to_workspace(runtime().engine, str(workspace), channels)
            out.print(f"workspace {name} (id {workspace_id}) now sends to the sandbox")
        sys.stdout.write(json.dumps({"channels": channels}, ensure_ascii=False) + "\n")
        if fakes.smtp_problem:
            err.print(fakes.smtp_problem)
        out.print("sandbox running; messages appear below as they arrive. Ctrl-C to stop.")
        sys.stdout.flush()
        try:
            while not stop.wait(0.2):
                for arrival in fakes.poll():
                    sys.stdout.write(arrival.line() + "\n")
                    sys.stdout.flush()
        except KeyboardInterrupt:
            pass


def _register_capabilities() -> None:
    """Capability CLIs add their commands to :data:`app` (``siyu import``, ``siyu profiles``, ...)."""
    import importlib

    for module in ("siyu.workspaces.cli", "siyu.demo.cli", "siyu.imports.cli", "siyu.profiles.cli",
                   "siyu.analytics.cli", "siyu.analytics.mirror_cli", "siyu.segments.cli",
                   "siyu.analytics.reports_cli", "siyu.messaging.cli", "siyu.journeys.cli", "siyu.staff.cli",
                   "siyu.acquisition.channel_codes_cli", "siyu.acquisition.replies_cli",
                   "siyu.groups.cli", "siyu.acquisition.group_codes_cli", "siyu.acquisition.posters_cli",
                   "siyu.acquisition.forms_cli", "siyu.payments.cli", "siyu.growth.distribution_cli",
                   "siyu.offers.cli",
                   "siyu.growth.fraud_cli",
                   "siyu.growth.cli",
                   "siyu.loyalty.cli",
                   "siyu.surveys.cli",
                   "siyu.callbacks.cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise


def main() -> None:
    _register_capabilities()
    app()


if __name__ == "__main__":  # `python -m siyu.cli`: run the real module, not this __main__ copy
    import siyu.cli

    siyu.cli.main()
