"""``siyu channels``: connect an official account or a WeCom corp, list what is connected."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from siyu.cli import WorkspaceOption, app, handles_errors, out, runtime

channels_app = typer.Typer(help="Connect WeChat official accounts and WeCom corps (callbacks and sending).",
                           no_args_is_help=True)
add_app = typer.Typer(help="Connect a channel; prints the callback path to paste into the platform's console.",
                      no_args_is_help=True)
channels_app.add_typer(add_app, name="add")
app.add_typer(channels_app, name="channels")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Token = Annotated[str, typer.Option("--token", help="The Token set in the platform's console (3-32 letters/digits).")]
AesKey = Annotated[str | None, typer.Option("--aes-key", help="The EncodingAESKey (43 characters).")]
Secret = Annotated[str | None, typer.Option("--secret", help="The AppSecret / Secret, to send through it too.")]


def _connect(workspace: str, kind: str, account: str, token: str, aes_key: str | None, secret: str | None,
             as_json: bool) -> None:
    from siyu.callbacks.setup_api import ChannelIn, connect
    from siyu.db.engine import read
    from siyu.workspaces import store

    rt = runtime()
    with read(rt.engine) as conn:
        workspace_id = store.get_workspace(conn, workspace).id
    body = ChannelIn(kind=kind, token=token, aes_key=aes_key, secret=secret,
                     **({"app_id": account} if kind == "wechat-oa" else {"corp_id": account}))
    answer = connect(rt, workspace_id, body)
    if as_json:
        sys.stdout.write(json.dumps(answer) + "\n")
        return
    out.print(f"{answer['channel_id']} connected; set the callback URL to {rt.config.public_url}"
              f"{answer['callback_path']}")


@add_app.command("wecom")
@handles_errors
def add_wecom(workspace: WorkspaceOption, token: Token,
              corp_id: Annotated[str, typer.Option("--corp-id", help="The WeCom CorpID.")],
              aes_key: AesKey = None, secret: Secret = None, as_json: JsonOption = False) -> None:
    """Connect a WeCom corp's callbacks (always encrypted: --aes-key is required)."""
    _connect(workspace, "wecom", corp_id, token, aes_key, secret, as_json)


@add_app.command("wechat-oa")
@handles_errors
def add_wechat(workspace: WorkspaceOption, token: Token,
               app_id: Annotated[str, typer.Option("--app-id", help="The official account's AppID.")],
               aes_key: AesKey = None, secret: Secret = None, as_json: JsonOption = False) -> None:
    """Connect an official account's callbacks (plaintext without --aes-key; compatible or safe mode with it)."""
    _connect(workspace, "wechat-oa", app_id, token, aes_key, secret, as_json)


@channels_app.command("list")
@handles_errors
def list_channels(workspace: WorkspaceOption) -> None:
    """Connected channels with their callback paths."""
    from siyu.callbacks.setup import connected
    from siyu.db.engine import read
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        found = store.get_workspace(conn, workspace)
    for channel in connected(found.settings, found.id):
        sys.stdout.write(json.dumps(channel) + "\n")
