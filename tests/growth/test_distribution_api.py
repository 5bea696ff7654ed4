"""`/api/promoters`, `/api/commissions` and the public link / page / QR: the two-level limit with its
legal reason, error shapes, exports, payouts under concurrency, the worker's pass."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from siyu import clock
from siyu.db.engine import read, write
from siyu.growth import distribution_store as store
from siyu.growth.distribution_ledger import pay
from siyu.worker import run_pass
from tests.growth.test_distribution_steps import follow, ledger, order, person, process, promoter, staff_member

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _error(answer, status: int, code: str) -> dict:  # noqa: ANN001
    assert answer.status_code == status, answer.text
    body = answer.json()["error"]
    assert body["code"] == code and body["message"] and isinstance(body["details"], dict)
    return body


def test_a_third_level_plan_is_refused_with_the_legal_reason_in_both_languages(client, workspace) -> None:  # noqa: ANN001
    three = {"levels": [{"default_rate": 0.1}, {"default_rate": 0.05}, {"default_rate": 0.01}]}
    body = _error(client.put("/api/commissions/plan", headers=workspace.bearer(), json=three), 422,
                  "distribution.too_many_levels")
    assert "禁止传销条例" in body["message"] and "Pyramid Selling" in body["message"]
    assert "传销" in body["details"]["reason_zh"] and "pyramid selling" in body["details"]["reason_en"]
    assert client.get("/api/commissions/plan", headers=workspace.bearer()).json()["levels"] == [
        {"default_rate": "0.10", "rates": []}]  # nothing was saved
    _error(client.put("/api/commissions/plan", headers=workspace.bearer(), json={"levels": [{"default_rate": 2}]}),
           422, "distribution.invalid")


def test_a_promoter_whose_parent_has_a_parent_is_refused(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    top = promoter(client, workspace, kind="staff", staff_id=staff_member(client, workspace, "boss", "店长"))
    middle = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "k1"), parent_id=top["id"])
    answer = client.post("/api/promoters", headers=workspace.bearer(),
                         json={"kind": "koc", "profile_id": person(client, workspace, "k2"), "parent_id": middle["id"]})
    assert "禁止传销条例" in _error(answer, 422, "distribution.too_many_levels")["message"]
    # Nor may the top get a parent now (its recruit would be a third level), nor anyone be their own parent.
    other = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "k3"))
    _error(client.patch(f"/api/promoters/{top['id']}", headers=workspace.bearer(), json={"parent_id": other["id"]}),
           422, "distribution.too_many_levels")
    _error(client.patch(f"/api/promoters/{other['id']}", headers=workspace.bearer(), json={"parent_id": other["id"]}),
           422, "distribution.invalid")
    moved = client.patch(f"/api/promoters/{middle['id']}", headers=workspace.bearer(), json={"parent_id": None})
    assert moved.status_code == 200 and moved.json()["parent_id"] is None
    # The same customer twice, a stranger's staff id, a missing profile: 409 / 404, never a 500.
    _error(client.post("/api/promoters", headers=workspace.bearer(),
                       json={"kind": "staff", "staff_id": top["staff_id"]}), 409, "distribution.exists")
    _error(client.post("/api/promoters", headers=workspace.bearer(), json={"kind": "staff", "staff_id": 999999}),
           404, "staff.not_found")
    _error(client.post("/api/promoters", headers=workspace.bearer(), json={"kind": "koc", "staff_id": 1}),
           422, "distribution.invalid")
    _error(client.post("/api/promoters", headers=workspace.bearer(), json={
        "kind": "koc", "profile_id": person(client, workspace, "k4"), "landing_url": "javascript:alert(1)"}),
        422, "distribution.invalid")
    _error(client.get("/api/promoters/424242", headers=workspace.bearer()), 404, "distribution.not_found")


def test_the_public_link_page_and_qr(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    made = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "小美"),
                    landing_url="https://shop.example.com/?from=koc",
                    products=[{"name": "玻尿酸精华", "url": "https://shop.example.com/p/1", "price": 199},
                              {"name": "Lip balm"}])
    assert made["link_url"].endswith(f"/p/{made['token']}") and len(made["token"]) >= 20
    _, location, _ = follow(client, made["token"])
    assert location.startswith("https://shop.example.com/?from=koc&siyu_ref=") and "utm_medium=distribution" in location
    answer = client.get(f"/p/{made['token']}?item=0", follow_redirects=False)
    assert answer.headers["location"].startswith("https://shop.example.com/p/1?siyu_ref=")
    zh = client.get(f"/p/{made['token']}/page", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200 and "小美 为你推荐" in zh.text and "玻尿酸精华" in zh.text and "¥199.00" in zh.text
    en = client.get(f"/p/{made['token']}/page?lang=en")
    assert "Recommended by 小美" in en.text and f"/p/{made['token']}/qr.png" in en.text
    png = client.get(f"/p/{made['token']}/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    for path in ("/p/nope-nope-nope-nope", "/p/AAAAAAAAAAAAAAAAAAAAAA/page", "/p/AAAAAAAAAAAAAAAAAAAAAA/qr.png"):
        assert client.get(path, follow_redirects=False).status_code == 404
    touches = client.get(f"/api/promoters/{made['id']}", headers=workspace.bearer()).json()["touches"]
    assert touches == 2  # the link twice; the page and the QR are not touches


def test_exports_per_period_and_promoter_as_csv_and_xlsx(client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    first = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "张三"))
    second = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "李四"))
    for n, who in enumerate((first, second, first)):
        person(client, workspace, f"b{n}")
        ref, _, _ = follow(client, who["token"])
        order(client, workspace, f"E{n}", 100 + n, user_id=f"b{n}", siyu_ref=ref)
        process(client, workspace)
        clock.advance(DAY)
    auth = workspace.bearer()
    whole = client.get("/api/commissions/export", headers=auth, params={"format": "csv"})
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(whole.content.decode("utf-8-sig"))))
    assert sorted((r["order_id"], r["promoter"], r["amount_yuan"]) for r in table) == [
        ("E0", "张三", "10.0"), ("E1", "李四", "10.1"), ("E2", "张三", "10.2")]
    day_one = client.get("/api/commissions/export", headers=auth, params={
        "format": "xlsx", "promoter_id": first["id"], "since": "2026-11-02", "until": "2026-11-03"})
    assert 'filename="commissions-promoter-' in day_one.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(day_one.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "written_at", "order_id") and [r[2] for r in rows[1:]] == ["E0"]
    _error(client.get("/api/commissions/export", headers=auth, params={"since": "2026-11-05", "until": "2026-11-01"}),
           422, "distribution.invalid")


def test_concurrent_payouts_pay_each_row_once(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    made = [promoter(client, workspace, kind="koc", profile_id=person(client, workspace, f"kc{n}")) for n in range(4)]
    for n, who in enumerate(made * 3):
        person(client, workspace, f"c{n}")
        ref, _, _ = follow(client, who["token"])
        order(client, workspace, f"R{n}", 10 + n, user_id=f"c{n}", siyu_ref=ref)
    clock.advance(8 * DAY)
    assert process(client, workspace)["confirmed"] == 12
    results, barrier = [], threading.Barrier(6)

    def payout(key: str) -> None:
        barrier.wait()
        with write(runtime.engine) as conn:
            results.append(pay(conn, workspace.id, key=key, now=clock.now()))

    threads = [threading.Thread(target=payout, args=(f"k{n % 3}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for _, created in results if created) == 3
    rows = ledger(client, workspace)
    assert {r["status"] for r in rows} == {"paid"} and len({r["payout_id"] for r in rows}) >= 1
    with read(runtime.engine) as conn:
        batches, paid = store.paid_total(conn, workspace.id)
    assert batches == paid == sum(r["amount_fen"] for r in rows)


def test_the_worker_pass_attributes_and_confirms(runtime, client, workspace) -> None:  # noqa: ANN001
    clock.freeze(T0)
    made = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, "kw"))
    person(client, workspace, "bw")
    ref, _, _ = follow(client, made["token"])
    order(client, workspace, "WK1", 99, user_id="bw", siyu_ref=ref)
    run_pass(runtime)
    assert [(r["order_id"], r["status"]) for r in ledger(client, workspace)] == [("WK1", "pending")]
    clock.advance(8 * DAY)
    run_pass(runtime)
    assert [r["status"] for r in ledger(client, workspace)] == ["confirmed"]



def _race(runtime, works) -> list[str]:  # noqa: ANN001
    """Run each ``work(conn)`` in its own thread and write transaction, all released at once."""
    from siyu.growth.distribution_errors import TooManyLevels

    barrier, outcomes = threading.Barrier(len(works)), []

    def attempt(work) -> None:  # noqa: ANN001
        barrier.wait()
        try:
            with write(runtime.engine) as conn:
                work(conn)
            outcomes.append("ok")
        except TooManyLevels:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_concurrent_parent_changes_never_make_a_third_level(runtime, client, workspace) -> None:  # noqa: ANN001
    """B goes under A while C is made under B, at once, six times over: one of the two is refused
    (the parent's row lock on PostgreSQL, one writer at a time on SQLite)."""
    from functools import partial

    from siyu.growth.distribution_promoters import change_promoter, create_promoter

    clock.freeze(T0)
    for round_ in range(6):
        a = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, f"a{round_}"))
        b = promoter(client, workspace, kind="koc", profile_id=person(client, workspace, f"b{round_}"))
        c_profile = person(client, workspace, f"c{round_}")
        outcomes = _race(runtime, [
            lambda conn, b=b, a=a: change_promoter(conn, workspace.id, b["id"], clock.now(), parent_id=a["id"]),
            partial(lambda conn, c, b: create_promoter(conn, workspace.id, kind="koc", profile_id=c, parent_id=b,
                                                       now=clock.now()), c=c_profile, b=b["id"]),
        ])
        assert outcomes == ["ok", "refused"], outcomes
        with read(runtime.engine) as conn:
            parents = {p.id: p.parent_id for p in store.list_promoters(conn, workspace.id)}
        assert all(parents.get(parent) is None for parent in parents.values() if parent is not None)
