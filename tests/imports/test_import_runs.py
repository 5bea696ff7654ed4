"""Whole imports on both databases: presets, masking, re-exports, failures, the CLI and the API."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from siyu.db.engine import read, write
from siyu.db.tables import imports
from siyu.imports.errors import ImportError_
from siyu.imports.presets import preset_for
from siyu.imports.runner import run_import
from siyu.profiles.store import load_states
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import KeyKind, Role
from tests.api.test_error_shape import assert_envelope
from tests.imports.test_imports import stored, tmall_file, tmall_row


def import_row(runtime: Runtime, workspace_id: int, import_id: int):  # noqa: ANN201
    with read(runtime.engine) as conn:
        return conn.execute(select(imports).where(imports.c.workspace_id == workspace_id,
                                                  imports.c.id == import_id)).one()


def test_masked_tmall_buyers_are_not_glued_together(runtime: Runtime, workspace, tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "masked.csv", [tmall_row("11", "t**1", "10", "138****8000"),
                                                tmall_row("12", "t**1", "20", "138****8000")])
    outcome = run_import(runtime, workspace.id, path, preset_for("orders", "tmall"))
    assert (outcome.rows_ok, outcome.rows_failed) == (2, 0)
    first, second = stored(runtime, workspace.id)
    assert first.profile_id != second.profile_id
    assert "phone" not in first.properties.get("context", {}).get("traits", {})


def test_youzan_item_export_in_xlsx_groups_line_items(runtime: Runtime, workspace, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["订单号", "订单状态", "订单创建时间", "买家付款时间", "订单实付金额", "买家手机号", "商品名称",
                  "商品单价", "商品数量", "商品编码"])
    sheet.append(["E001", "交易完成", "2025-06-18 00:01:00", "2025-06-18 00:02:00", 208, 13900139002, "眼影盘", 129,
                  1, "EY-1"])
    sheet.append(["E001", "交易完成", "2025-06-18 00:01:00", "2025-06-18 00:02:00", 208, 13900139002, "唇釉", 79,
                  1, "LG-2"])
    sheet.append(["E002", "已关闭", "2025-06-19 00:01:00", "", 59, 13900139002, "卸妆水", 59, 1, "MR-1"])
    book.save(tmp_path / "有赞商品维度.xlsx")
    outcome = run_import(runtime, workspace.id, tmp_path / "有赞商品维度.xlsx", preset_for("orders", "youzan"))
    assert outcome.counts() == {"rows_total": 3, "rows_ok": 3, "rows_duplicate": 0, "rows_failed": 0}
    paid, closed = stored(runtime, workspace.id)
    assert [p["sku"] for p in paid.properties["products"]] == ["EY-1", "LG-2"]
    assert (paid.name, paid.properties["total"], closed.name) == ("Order Completed", 208.0, "Order Cancelled")
    with read(runtime.engine) as conn:
        state = load_states(conn, workspace.id, [paid.profile_id])[paid.profile_id]
    assert (state.rollup.order_count, state.rollup.total_spend) == (1, 208.0)  # a closed order is no purchase


def test_a_newer_export_adds_only_the_new_orders(runtime: Runtime, workspace, tmp_path: Path) -> None:
    rows = [tmall_row(f"7{i:04d}", f"b{i}", "10", f"1390013{i:04d}") for i in range(5)]
    run_import(runtime, workspace.id, tmall_file(tmp_path / "may.csv", rows), preset_for("orders", "tmall"))
    newer = rows + [tmall_row("79999", "b1", "30", "13900130001")]
    outcome = run_import(runtime, workspace.id, tmall_file(tmp_path / "june.csv", newer), preset_for("orders", "tmall"))
    assert (outcome.rows_total, outcome.rows_ok, outcome.rows_duplicate) == (6, 1, 5)
    events_now = stored(runtime, workspace.id)
    assert len(events_now) == 6 and events_now[-1].profile_id == events_now[1].profile_id
    with read(runtime.engine) as conn:
        state = load_states(conn, workspace.id, [events_now[1].profile_id])[events_now[1].profile_id]
    assert (state.rollup.order_count, state.rollup.total_spend) == (2, 40.0)


def test_a_file_that_breaks_half_way_marks_the_import_failed(runtime: Runtime, workspace, tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "gbk.csv", [tmall_row("1", "a", "10", "13800138001")], encoding="gbk")
    with pytest.raises(ImportError_) as caught:
        run_import(runtime, workspace.id, path, preset_for("orders", "tmall"), encoding="utf-8")
    assert caught.value.code == "imports.bad_encoding"
    with read(runtime.engine) as conn:
        row = conn.execute(select(imports).where(imports.c.workspace_id == workspace.id)).one_or_none()
    assert row is None  # the header itself was unreadable: refused before anything started
    header_ok = tmp_path / "half.csv"
    good = "".join(f"{n},10,2025-06-18 10:00:00\n" for n in range(1000))  # past the reader's first 8 KB
    header_ok.write_bytes(f"订单编号,买家实际支付金额,订单付款时间\n{good}".encode() + "x,10,李娜\n".encode("gbk"))
    with pytest.raises(ImportError_):
        run_import(runtime, workspace.id, header_ok, preset_for("orders", "tmall"), encoding="utf-8")
    with read(runtime.engine) as conn:
        row = conn.execute(select(imports).where(imports.c.workspace_id == workspace.id)).one()
    assert row.status == "failed" and 0 < row.rows_total < 1000 and row.finished_at is not None


def cli(database_url: str, data_dir: Path, *args: str):  # noqa: ANN201
    import siyu.imports.cli  # noqa: F401 - registers `siyu import` on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": database_url,
                                                   "SIYU_DATA_DIR": str(data_dir)})


def test_cli_writes_the_report_where_asked_and_refuses_bad_input(runtime: Runtime, database_url: str, workspace,
                                                                 tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "orders.csv", [tmall_row("1", "a", "10", "13800138001"),
                                                tmall_row("2", "b", "abc", "13800138002")])
    report = tmp_path / "failed.csv"
    result = cli(database_url, tmp_path, "import", "orders", str(path), "-w", workspace.name, "--preset", "tmall",
                 "--report", str(report), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["rows_ok"], summary["rows_failed"], summary["error_report"]) == (1, 1, str(report))
    assert report.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it as Chinese
    [failed] = list(csv.DictReader(report.read_text(encoding="utf-8-sig").splitlines()))
    assert (failed["订单编号"], failed["error_row"]) == ("2", "3") and "not an amount" in failed["error_reason"]
    report.write_text(report.read_text(encoding="utf-8-sig").replace(",abc,", ",10,"), encoding="utf-8-sig")
    fixed = run_import(runtime, workspace.id, report, preset_for("orders", "tmall"))  # the report, fixed in Excel
    assert (fixed.rows_ok, fixed.rows_failed) == (1, 0)
    mapping = tmp_path / "bad.yaml"
    mapping.write_text("columns: [1, 2\n", encoding="utf-8")
    for args in (("--mapping", str(mapping)), ("--encoding", "latin-1"), ("-w", "no-such-workspace"),
                 ("--report", str(tmp_path / "missing" / "r.csv"))):
        base = ["import", "orders", str(path), "-w", workspace.name, "--preset", "tmall"]
        failed_run = cli(database_url, tmp_path, *base, *args)
        assert failed_run.exit_code == 2, (args, failed_run.output)
        assert "Traceback" not in failed_run.output


def test_api_upload_links_the_report_and_checks_roles(runtime: Runtime, client, workspace, other_workspace,
                                                      tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "orders.csv", [tmall_row("1", "a", "10", "13800138001"),
                                                tmall_row("2", "b", "x", "13800138002")])

    def upload(headers: dict, name: str = "orders.csv", content: bytes | None = None, **data: str):  # noqa: ANN202
        body = content if content is not None else path.read_bytes()
        return client.post("/api/imports", files={"file": (name, body, "text/csv")},
                           data={"kind": "orders", "preset": "tmall", **data}, headers=headers)

    created = upload(workspace.bearer()).json()
    assert created["errors_url"] == f"/api/imports/{created['id']}/errors" and created["status"] == "done"
    assert client.get(created["errors_url"], headers=workspace.bearer()).status_code == 200
    assert_envelope(client.get(created["errors_url"], headers=other_workspace.bearer()), 404)
    assert client.get("/api/imports", headers=other_workspace.bearer()).json() == []
    with write(runtime.engine) as conn:
        _, analyst = workspace_store.create_key(conn, workspace.id, KeyKind.SECRET, role=Role.ANALYST)
    as_analyst = {"Authorization": f"Bearer {analyst}"}
    assert client.get(f"/api/imports/{created['id']}", headers=as_analyst).json()["rows_ok"] == 1
    assert_envelope(upload(as_analyst), 403)
    assert_envelope(upload({}), 401)
    assert_envelope(upload(workspace.bearer(), kind="people"), 400)
    assert assert_envelope(upload(workspace.bearer(), name="orders.xlsx"), 400)["code"] == "imports.bad_file"
    assert assert_envelope(upload(workspace.bearer(), name="orders.pdf"), 400)["code"] == "imports.bad_file"
    assert assert_envelope(upload(workspace.bearer(), mapping="{"), 400)["code"] == "imports.bad_mapping"
    assert assert_envelope(upload(workspace.bearer(), preset="shopify"), 400)["code"] == "imports.missing_columns"
    assert_envelope(client.get("/api/imports/99999999999", headers=workspace.bearer()), 400)
    again = upload(workspace.bearer()).json()
    assert (again["rows_ok"], again["rows_duplicate"], again["rows_failed"]) == (0, 1, 1)


def test_a_youzan_customer_list_then_orders_make_one_person(runtime: Runtime, workspace, tmp_path: Path) -> None:
    customers = tmp_path / "客户.csv"
    customers.write_text("客户姓名,客户手机号,客户生日,客户性别,标签,来源渠道,成为客户时间\n"
                         "王芳,13900139003,1995-03-08,女,\"VIP,口红控\",微信小程序,2024-01-01 10:00:00\n"
                         "Foo,186******05,,其他,,有赞后台,2023-09-21 21:09:35\n", encoding="utf-8-sig")
    outcome = run_import(runtime, workspace.id, customers, preset_for("customers", "youzan"))
    assert (outcome.rows_ok, outcome.rows_failed) == (1, 1)
    orders = tmp_path / "orders.csv"
    orders.write_text("订单号,订单状态,买家付款时间,订单实付金额,买家手机号\n"
                      "E9,交易完成,2025-06-18 10:00:00,99,139 0013 9003\n", encoding="gbk")
    run_import(runtime, workspace.id, orders, preset_for("orders", "youzan"))
    by_name: dict[str, list] = {}
    for row in stored(runtime, workspace.id):
        by_name.setdefault(row.name, []).append(row)
    [identify], [completed] = by_name["identify"], by_name["Order Completed"]
    assert identify.profile_id == completed.profile_id
    assert {n: len(r) for n, r in by_name.items() if n not in ("identify", "Order Completed")} == {"Tag Added": 2}
    with read(runtime.engine) as conn:
        state = load_states(conn, workspace.id, [identify.profile_id])[identify.profile_id]
    assert state.traits["name"] == "王芳" and state.rollup.order_count == 1
