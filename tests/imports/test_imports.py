"""Importing customers and orders from the files operators really have."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from siyu.db.engine import read
from siyu.db.tables import events, imports, profile_tags
from siyu.imports.presets import load_mapping, preset_for
from siyu.imports.runner import run_import
from siyu.profiles.store import load_states
from siyu.runtime import Runtime
from tests.api.test_error_shape import assert_envelope

TMALL_HEADER = ["订单编号", "买家会员名", "买家应付货款", "总金额", "买家实际支付金额", "订单状态", "收货人姓名",
                "收货地址", "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝总数量", "商家编码"]


def tmall_file(path: Path, rows: list[list[str]], encoding: str = "gbk") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(TMALL_HEADER)
        writer.writerows(rows)
    return path


def tmall_row(order: str, buyer: str, paid: str, phone: str, status: str = "交易成功",
              when: str = "2025-11-11 00:05:00") -> list[str]:
    return [f'="{order}"', buyer, paid, paid, paid, status, "李娜", "上海市静安区", phone, when, when,
            "小细跟口红 #01", "1", "LIP-01"]


def stored(runtime: Runtime, workspace_id: int) -> list:
    with read(runtime.engine) as conn:
        return conn.execute(select(events).where(events.c.workspace_id == workspace_id).order_by(events.c.id)).all()


def test_tmall_gbk_export_becomes_orders_with_buyers(runtime: Runtime, workspace, tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "淘宝订单.csv", [
        tmall_row("2451234567890", "lina_1990", "259.00", "13800138001"),
        tmall_row("2451234567891", "lina_1990", "89.90", "13800138001", when="2025-06-18 10:00:00"),
        tmall_row("2451234567892", "wang", "99.00", "13900139000", status="交易关闭"),
    ])
    outcome = run_import(runtime, workspace.id, path, preset_for("orders", "tmall"))
    assert outcome.counts() == {"rows_total": 3, "rows_ok": 3, "rows_duplicate": 0, "rows_failed": 0}
    rows = stored(runtime, workspace.id)
    assert [r.name for r in rows] == ["Order Completed", "Order Completed", "Order Cancelled"]
    first = rows[0]
    assert first.properties["order_id"] == "2451234567890" and first.properties["total"] == 259.0
    assert first.properties["products"] == [{"name": "小细跟口红 #01", "quantity": 1, "sku": "LIP-01"}]
    assert first.timestamp.isoformat() == "2025-11-10T16:05:00+00:00"  # 00:05 in Shanghai
    assert first.source == "import:tmall"
    assert rows[0].profile_id == rows[1].profile_id != rows[2].profile_id
    with read(runtime.engine) as conn:
        state = load_states(conn, workspace.id, [first.profile_id])[first.profile_id]
    assert (state.rollup.order_count, state.rollup.total_spend, state.rollup.first_channel) == (2, 348.9, "tmall")


def test_importing_the_same_file_twice_changes_nothing(runtime: Runtime, workspace, tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "orders.csv", [tmall_row(f"1{i:05d}", f"b{i}", "10", f"1380013{i:04d}")
                                                 for i in range(50)], encoding="utf-8-sig")
    run_import(runtime, workspace.id, path, preset_for("orders", "tmall"))
    before = len(stored(runtime, workspace.id))
    again = run_import(runtime, workspace.id, path, preset_for("orders", "tmall"))
    assert (again.rows_ok, again.rows_duplicate) == (0, 50)
    assert len(stored(runtime, workspace.id)) == before == 50


def test_bad_rows_go_to_an_error_report_and_do_not_stop_the_import(runtime: Runtime, workspace,
                                                                   tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "orders.csv", [
        tmall_row("1", "a", "10", "13800138001"),
        tmall_row("2", "b", "ten yuan", "13800138002"),
        tmall_row("3", "c", "10", "12345"),
        tmall_row("", "d", "10", "13800138004"),
        tmall_row("5", "e", "10", "13800138005", when="last tuesday"),
    ])
    outcome = run_import(runtime, workspace.id, path, preset_for("orders", "tmall"))
    assert (outcome.rows_ok, outcome.rows_failed) == (1, 4)
    report = list(csv.DictReader(Path(outcome.error_report).read_text(encoding="utf-8-sig").splitlines()))
    assert [r["error_row"] for r in report] == ["3", "4", "5", "6"]
    reasons = " | ".join(r["error_reason"] for r in report)
    assert "not an amount" in reasons and "not a valid phone" in reasons and "order_id is empty" in reasons
    assert report[0]["买家会员名"] == "b"  # the original columns come back, for fixing in Excel
    with read(runtime.engine) as conn:
        row = conn.execute(select(imports).where(imports.c.workspace_id == workspace.id)).one()
    assert (row.status, row.rows_total, row.rows_ok, row.rows_failed) == ("done", 5, 1, 4)


def test_shopify_line_items_are_grouped_into_one_order(runtime: Runtime, workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders_export.csv"
    header = ["Name", "Email", "Financial Status", "Paid at", "Currency", "Total", "Lineitem quantity",
              "Lineitem name", "Lineitem price", "Lineitem sku", "Billing Name", "Phone", "Created at"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(["#1001", "Amy@Example.cn", "paid", "2025-06-01 10:00:00 +0800", "USD", "54.50", "2",
                         "Lip Tint", "12.00", "LT-1", "Amy", "+1 650 253 0000", "2025-06-01 09:59:00 +0800"])
        writer.writerow(["#1001", "Amy@Example.cn", "", "", "", "", "1", "Palette", "30.50", "PL-9", "", "", ""])
        writer.writerow(["#1002", "bo@shop.cn", "refunded", "2025-06-02 10:00:00 +0800", "USD", "10.00", "1",
                         "Brow", "10.00", "BR-1", "Bo", "", "2025-06-02 10:00:00 +0800"])
    outcome = run_import(runtime, workspace.id, path, preset_for("orders", "shopify"))
    assert (outcome.rows_total, outcome.rows_ok) == (3, 3)
    first, second = stored(runtime, workspace.id)
    assert first.properties["products"] == [{"name": "Lip Tint", "quantity": 2, "sku": "LT-1", "price": 12.0},
                                            {"name": "Palette", "quantity": 1, "sku": "PL-9", "price": 30.5}]
    assert (first.properties["total"], first.properties["currency"]) == (54.5, "USD")
    assert second.name == "Order Cancelled"


def test_youzan_xlsx_and_a_customers_file_merge_by_phone(runtime: Runtime, workspace, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["订单号", "订单状态", "下单时间", "买家付款时间", "订单实付金额", "收货人/提货人", "买家手机号",
                  "商品名称", "商品数量"])
    sheet.append(["E2025060100001", "交易成功", "2025-06-01 12:00:00", "2025-06-01 12:01:00", 129, "王芳",
                  13900139001, "眼影盘", 1])
    book.save(tmp_path / "youzan.xlsx")
    run_import(runtime, workspace.id, tmp_path / "youzan.xlsx", preset_for("orders", "youzan"))
    customers = tmp_path / "会员.csv"
    customers.write_text("会员号,姓名,手机号,生日,城市,标签\nM001,王芳,139 0013 9001,1995/03/08,杭州,\"VIP,口红控\"\n",
                         encoding="gb18030")
    outcome = run_import(runtime, workspace.id, customers, preset_for("customers", "siyu"))
    assert outcome.rows_ok == 1
    rows = stored(runtime, workspace.id)
    assert rows[0].profile_id == rows[1].profile_id  # the Youzan buyer and the store member are one person
    with read(runtime.engine) as conn:
        state = load_states(conn, workspace.id, [rows[0].profile_id])[rows[0].profile_id]
        tag_count = len(conn.execute(select(profile_tags).where(profile_tags.c.workspace_id == workspace.id)).all())
    assert state.traits["birthday"] == "1995-03-08" and state.traits["member_id"] == "M001"
    assert state.rollup.order_count == 1 and tag_count == 2


def test_a_custom_mapping_file(runtime: Runtime, workspace, tmp_path: Path) -> None:
    mapping = tmp_path / "jd.yaml"
    mapping.write_text("platform: jd\ncolumns:\n  order_id: 单号\n  phone: 手机\n  total: 金额\n  paid_at: 时间\n"
                       "date_format: '%d.%m.%Y %H:%M'\n", encoding="utf-8")
    path = tmp_path / "jd.csv"
    path.write_text("单号,手机,金额,时间\nJD-1,13800138009,66.6,18.06.2025 20:00\n", encoding="utf-8")
    outcome = run_import(runtime, workspace.id, path, load_mapping(mapping, "orders"))
    assert outcome.rows_ok == 1
    [row] = stored(runtime, workspace.id)
    assert row.properties["platform"] == "jd" and row.properties["total"] == 66.6


def siyu(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "siyu", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SIYU_DATABASE_URL": database_url})


def test_cli_import_and_its_errors(runtime: Runtime, database_url: str, workspace, tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "orders.csv", [tmall_row("9", "z", "10", "13800138001")])
    result = siyu(database_url, "import", "orders", str(path), "--workspace", workspace.name, "--preset", "tmall",
                  "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows_ok"] == 1
    for args, message in [
        (("import", "orders", str(path), "--workspace", workspace.name, "--preset", "jd"), "No orders preset"),
        (("import", "orders", str(path), "--workspace", workspace.name, "--preset", "shopify"), "no column"),
        (("import", "orders", str(tmp_path / "missing.csv"), "--workspace", workspace.name), "No such file"),
        (("import", "people", str(path), "--workspace", workspace.name), "customers' or 'orders"),
    ]:
        failed = siyu(database_url, *args)
        assert failed.returncode == 2 and message in failed.stderr and "Traceback" not in failed.stderr


def test_api_upload_lists_and_serves_the_error_report(client, workspace, other_workspace, tmp_path: Path) -> None:
    path = tmall_file(tmp_path / "orders.csv", [tmall_row("1", "a", "10", "13800138001"),
                                                tmall_row("2", "b", "x", "13800138002")])
    with path.open("rb") as handle:
        response = client.post("/api/imports", files={"file": ("orders.csv", handle, "text/csv")},
                               data={"kind": "orders", "preset": "tmall"}, headers=workspace.bearer())
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["rows_ok"], created["rows_failed"], created["has_errors"]) == (1, 1, True)
    listed = client.get("/api/imports", headers=workspace.bearer()).json()
    assert [i["id"] for i in listed] == [created["id"]]
    report = client.get(f"/api/imports/{created['id']}/errors", headers=workspace.bearer())
    assert report.status_code == 200 and "not an amount" in report.content.decode("utf-8-sig")
    assert_envelope(client.get(f"/api/imports/{created['id']}", headers=other_workspace.bearer()), 404)
    with path.open("rb") as handle:
        bad = client.post("/api/imports", files={"file": ("orders.csv", handle, "text/csv")},
                          data={"kind": "orders", "preset": "nope"}, headers=workspace.bearer())
    assert assert_envelope(bad, 400)["code"] == "imports.unknown_preset"


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage", b"only,a,header\n"])
def test_odd_files_are_refused_or_empty_never_a_crash(runtime: Runtime, workspace, tmp_path: Path,
                                                      content: bytes) -> None:
    from siyu.imports.errors import ImportError_

    path = tmp_path / "odd.csv"
    path.write_bytes(content)
    with pytest.raises(ImportError_):
        run_import(runtime, workspace.id, path, preset_for("orders", "tmall"))
