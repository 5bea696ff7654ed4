"""`siyu groups …` in real subprocesses: list, members, tag, sync, broadcast; exit 2 on bad input."""

from __future__ import annotations

import json
from typing import Any

from siyu.channels.fakes.wecom import FakeWeCom
from siyu.groups.worker import run_due
from siyu.runtime import Runtime
from tests.groups.scene import T0, configure, member, push
from tests.profiles.test_cli import siyu


def test_an_operator_lists_tags_and_broadcasts_to_groups(runtime: Runtime, database_url: str, workspace: Any,
                                                        fake: FakeWeCom) -> None:
    configure(runtime, workspace.id, fake)
    fake.set_group_chat("wrCli", name="会员福利群", owner="zhangsan", members=[
        member("zhangsan", T0, scene=1, staff=True), member("wmLina", T0 + 5, invitor="zhangsan", name="李娜")])
    push(runtime, workspace.id, "chat_create", "wrCli")
    run_due(runtime)
    ws = ["--workspace", workspace.name]
    listed = siyu(database_url, "groups", "list", *ws, "--json")
    assert listed.returncode == 0, listed.stderr
    (group,) = json.loads(listed.stdout)
    assert (group["name"], group["member_count"]) == ("会员福利群", 2)
    number = str(group["id"])
    shown = siyu(database_url, "groups", "members", *ws, number)
    assert "wmLina" in shown.stdout and "by qr" in shown.stdout and "invited 1" in shown.stdout
    tagged = siyu(database_url, "groups", "tag", *ws, "城市", "上海", "--group", number)
    assert tagged.returncode == 0 and "added to 1 group" in tagged.stdout
    assert "城市:上海" in siyu(database_url, "groups", "list", *ws).stdout
    assert "sync requested" in siyu(database_url, "groups", "sync", *ws, number).stdout
    sent = siyu(database_url, "groups", "broadcast", *ws, "周末活动", "--text", "周末满199减30", "--group", number,
                "--key", "weekend")
    assert sent.returncode == 0 and "1 group(s) in 1 task(s)" in sent.stdout, sent.stderr
    again = siyu(database_url, "groups", "broadcast", *ws, "周末活动", "--text", "周末满199减30", "--group", number,
                 "--key", "weekend")
    assert "already existed" in again.stdout

    missing = siyu(database_url, "groups", "members", *ws, "999999")
    assert missing.returncode == 2 and "No group 999999" in missing.stderr
    empty = siyu(database_url, "groups", "broadcast", *ws, "x", "--text", " ", "--group", number, "--key", "k")
    assert empty.returncode == 2 and "text.content" in empty.stderr
