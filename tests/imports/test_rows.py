"""Rows to messages, and reading cells: pure rules, no database."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from siyu.imports.errors import ImportError_
from siyu.imports.presets import mapping_from_text, preset_for
from siyu.imports.readers import clean, detect_encoding, read_table
from siyu.imports.rows import RowError, customer_message, map_columns, order_message, parse_amount, parse_time

SHANGHAI = ZoneInfo("Asia/Shanghai")


def order(preset: str, header: list[str], *rows: list[str]) -> dict:
    mapped = map_columns(preset_for("orders", preset), header)
    return order_message(mapped, [mapped.fields(r) for r in rows], SHANGHAI)


TMALL = ["订单编号", "买家会员名", "买家实际支付金额", "订单状态", "联系手机", "订单付款时间", "宝贝标题"]


def test_masked_buyer_names_and_phones_are_not_identifiers() -> None:
    message = order("tmall", TMALL, ["1", "t**1", "10.00", "交易成功", "138****8000", "2025-06-18 10:00:00", "口红"])
    assert "externalIds" not in message["context"] and "phone" not in message["context"]["traits"]
    assert message["anonymousId"] == "import-tmall-1"  # per order: two masked buyers never share one id


def test_a_tmall_buyer_becomes_a_platform_buyer_id_and_the_phone_a_trait() -> None:
    message = order("tmall", TMALL, ["2", "lina", "¥1,259.00", "交易成功", "'13800138001", "2025/6/18 10:00", "口红"])
    assert message["context"]["externalIds"] == [{"type": "platform_buyer_id:tmall", "id": "lina"}]
    assert message["properties"]["total"] == 1259.0 and message["properties"]["currency"] == "CNY"
    assert message["properties"]["channel"] == "tmall" and message["event"] == "Order Completed"
    assert message["timestamp"] == "2025-06-18T10:00:00+08:00"


def test_the_same_order_always_gets_the_same_message_id() -> None:
    row = ["3", "lina", "10", "交易成功", "13800138001", "2025-06-18 10:00:00", "口红"]
    changed = [*row[:2], "12", *row[3:]]
    assert order("tmall", TMALL, row)["messageId"] == order("tmall", TMALL, changed)["messageId"]
    assert order("tmall", TMALL, row)["messageId"] != order("tmall", TMALL, ["4", *row[1:]])["messageId"]


def test_shopify_id_is_the_order_not_the_buyer_and_cancelled_at_cancels() -> None:
    header = ["Name", "Email", "Financial Status", "Paid at", "Total", "Lineitem name", "Cancelled at", "Id"]
    message = order("shopify", header, ["#1", "a@shop.cn", "paid", "2025-06-01 10:00:00 +0800", "5", "Tint",
                                        "2025-06-02 10:00:00 +0800", "5544332211"])
    assert "externalIds" not in message["context"] and message["context"]["traits"]["email"] == "a@shop.cn"
    assert message["event"] == "Order Cancelled"


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-11-11 00:05:00", "2025-11-11T00:05:00+08:00"),
    ("2025-6-1 9:05:00", "2025-06-01T09:05:00+08:00"),
    ("2025/06/18", "2025-06-18T00:00:00+08:00"),
    ("2025年6月18日 20:00", "2025-06-18T20:00:00+08:00"),
    ("2025-06-01 10:00:00 -0400", "2025-06-01T10:00:00-04:00"),
    ("2025-06-01T02:00:00Z", "2025-06-01T02:00:00+00:00"),
])
def test_dates_as_exports_write_them(text: str, expected: str) -> None:
    assert parse_time(text, preset_for("orders", "siyu"), SHANGHAI).isoformat() == expected


@pytest.mark.parametrize("text", ["last tuesday", "2025-13-01", "18/06/2025"])
def test_dates_that_are_not_dates_fail_the_row(text: str) -> None:
    with pytest.raises(RowError, match="not a date"):
        parse_time(text, preset_for("orders", "siyu"), SHANGHAI)


@pytest.mark.parametrize("text", ["ten", "1e400", "nan", "--1"])
def test_amounts_that_are_not_amounts_fail_the_row(text: str) -> None:
    with pytest.raises(RowError, match="not an amount"):
        parse_amount(text, "total")


def test_a_mapping_date_format_wins_over_guessing() -> None:
    preset = mapping_from_text('{"columns": {"order_id": "n", "paid_at": "t"}, "date_format": "%Y-%d-%m"}', "orders")
    assert parse_time("2025-01-02", preset, SHANGHAI).isoformat() == "2025-02-01T00:00:00+08:00"


def test_customers_need_an_identifier_and_masked_phones_are_none() -> None:
    mapped = map_columns(preset_for("customers", "youzan"), ["客户姓名", "客户手机号", "客户生日", "标签"])
    good = customer_message(mapped, mapped.fields(["王芳", "13900139001", "1995-03-08", "VIP，口红控"]), SHANGHAI)
    assert good["traits"] == {"phone": "13900139001", "name": "王芳", "birthday": "1995-03-08"}
    assert good["_tags"] == ["VIP", "口红控"]
    with pytest.raises(RowError, match="no identifier"):
        customer_message(mapped, mapped.fields(["Foo", "186******05", "", ""]), SHANGHAI)


def test_a_customer_row_changed_is_a_new_message_the_same_row_is_not() -> None:
    mapped = map_columns(preset_for("customers", "siyu"), ["phone", "city"])
    first = customer_message(mapped, mapped.fields(["13900139001", "杭州"]), SHANGHAI)
    same = customer_message(mapped, mapped.fields(["13900139001", "杭州"]), SHANGHAI)
    moved = customer_message(mapped, mapped.fields(["13900139001", "上海"]), SHANGHAI)
    assert first["messageId"] == same["messageId"] != moved["messageId"]


@pytest.mark.parametrize(("cell", "expected"), [
    ('="2451234567890"', "2451234567890"), ("\t2451234567890", "2451234567890"), ("'13800138000", "13800138000"),
    ("it's", "it's"), ("  口红 ", "口红"), (None, ""), (12, "12"),
])
def test_excel_guards_are_removed_from_cells(cell: object, expected: str) -> None:
    assert clean(cell) == expected


def test_encodings_are_detected(tmp_path: Path) -> None:
    text = "订单编号,买家会员名\n1,李娜\n"
    for encoding, expected in (("gbk", "gb18030"), ("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig")):
        path = tmp_path / f"{encoding}.csv"
        path.write_text(text, encoding=encoding)
        assert detect_encoding(path) == expected
        table = read_table(path)
        assert table.header == ["订单编号", "买家会员名"] and list(table.rows) == [["1", "李娜"]]


def test_unknown_presets_and_bad_mappings_say_what_to_do() -> None:
    with pytest.raises(ImportError_, match="Presets for orders: shopify, siyu, tmall, youzan") as caught:
        preset_for("orders", "jd")
    assert caught.value.code == "imports.unknown_preset"
    for text in ("{", "[]", '{"columns": {}}', '{"columns": {"favourite_colour": "x"}}',
                 '{"columns": {"order_id": "n"}, "platform": "JD 商城"}',
                 '{"columns": {"order_id": "n"}, "cancelled_statuses": "已取消"}'):
        with pytest.raises(ImportError_) as bad:
            mapping_from_text(text, "orders")
        assert bad.value.code == "imports.bad_mapping"
