"""`siyu staff` through the real Typer app."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from siyu.db.engine import write
from siyu.staff import store
from siyu.staff.models import OwnershipReason


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.staff.cli  # noqa: F401 - registers `siyu staff` on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_add_list_leave_and_decide_a_resigned_transfer(runtime, workspace) -> None:  # noqa: ANN001
    from siyu import clock

    w = workspace.name
    assert cli(runtime, "staff", "add", "-w", w, "小完子", "--persona").exit_code == 0
    assert cli(runtime, "staff", "add", "-w", w, "张三", "--userid", "zhangsan").exit_code == 0
    assert cli(runtime, "staff", "add", "-w", w, "李四", "--userid", "lisi").exit_code == 0
    listed = json.loads(cli(runtime, "staff", "list", "-w", w, "--json").stdout)
    assert [(s["kind"], s["userid"]) for s in listed] == [("persona", None), ("member", "zhangsan"),
                                                          ("member", "lisi")]
    with write(runtime.engine) as conn:
        store.open_spell(conn, workspace.id, profile_id=4242, userid="zhangsan", external_userid="wmCli",
                         state=None, reason=OwnershipReason.ADDED, at=clock.now(), key="cli-test")
    refused = cli(runtime, "staff", "transfer", "-w", w, "zhangsan", "lisi", "--resigned", "--key", "k1")
    assert refused.exit_code == 2 and "has not left" in refused.output
    assert cli(runtime, "staff", "leave", "-w", w, "zhangsan").exit_code == 0
    decided = cli(runtime, "staff", "transfer", "-w", w, "zhangsan", "lisi", "--resigned", "--key", "k1", "--json")
    assert decided.exit_code == 0, decided.output
    assert [(t["profile_id"], t["status"]) for t in json.loads(decided.stdout)] == [(4242, "decided")]
    unconfigured = cli(runtime, "staff", "sync", "-w", w)
    assert unconfigured.exit_code == 2 and "corpid" in unconfigured.output
    missing = cli(runtime, "staff", "done", "-w", w, "999999")
    assert missing.exit_code == 2 and "No task" in missing.output


def test_a_persona_id_must_name_a_persona_and_only_a_member_takes_one(runtime, workspace) -> None:  # noqa: ANN001
    w = workspace.name
    persona = json.loads(cli(runtime, "staff", "add", "-w", w, "小完子", "--persona", "--json").stdout)
    nested = cli(runtime, "staff", "add", "-w", w, "副人设", "--persona", "--persona-id", str(persona["id"]))
    assert nested.exit_code == 2 and "takes no 'persona_id'" in nested.output
    missing = cli(runtime, "staff", "add", "-w", w, "张三", "--userid", "zhangsan", "--persona-id", "999999")
    assert missing.exit_code == 2 and "No persona 999999" in missing.output
    served = cli(runtime, "staff", "add", "-w", w, "张三", "--userid", "zhangsan", "--persona-id", str(persona["id"]),
                 "--json")
    assert served.exit_code == 0 and json.loads(served.stdout)["persona_id"] == persona["id"]
    listed = json.loads(cli(runtime, "staff", "list", "-w", w, "--json").stdout)
    assert [(s["kind"], s["userid"], s.get("members")) for s in listed] == [("persona", None, ["zhangsan"]),
                                                                           ("member", "zhangsan", None)]
