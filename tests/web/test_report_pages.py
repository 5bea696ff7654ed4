"""Console report pages over HTTP: chart data, table, export links that download the same numbers, errors."""

from __future__ import annotations

import csv
import html
import io
import json
import re

from siyu.runtime import Runtime
from tests.analytics.test_reports_scenario import NOW as NOW_AT
from tests.analytics.test_reports_scenario import open_shop
from tests.web.test_pages import signed_in  # noqa: F401 - the fixture

RANGE = "from=2024-03-04&to=2024-03-20"


def chart_of(page: str) -> dict:
    return json.loads(re.search(r'id="chart-data" type="application/json">(.*?)</script>', page, re.S).group(1))


def export_link(page: str, fmt: str) -> str:
    return html.unescape(re.search(rf'id="export-{fmt}" href="([^"]+)"', page).group(1))


def test_report_pages_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/reports", "/reports/retention"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_retention_page_draws_the_cohorts_and_exports_them(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    open_shop(runtime, workspace.id)
    page = signed_in.get(f"/reports/retention?{RANGE}&breakdown=channel")
    assert page.status_code == 200 and 'id="chart"' in page.text and "小红书" in page.text
    chart = chart_of(page.text)
    assert chart["kind"] == "retention" and chart["rows"][0] == "2024-03-04 · 天猫"
    # [period, row, on %, on-or-after %, returned, on or after, people, incomplete]
    assert chart["cells"][:3] == [
        [0, 0, 100.0, 100.0, 1, 1, 1, False],
        [1, 0, 0.0, 0.0, 0, 0, 1, False],
        [2, 0, 0.0, 0.0, 0, 0, 1, True],
    ]
    link = export_link(page.text, "csv")
    assert link.startswith("/api/reports/retention?") and "breakdown=channel" in link and "format=csv" in link
    rows = list(csv.DictReader(io.StringIO(signed_in.get(link).content.decode("utf-8-sig"))))
    assert [(r["cohort"], r["breakdown"], r["period"], r["returned"]) for r in rows][:3] == [
        ("2024-03-04", "tmall", "0", "1"),
        ("2024-03-04", "tmall", "1", "0"),
        ("2024-03-04", "tmall", "2", "0"),
    ]
    assert signed_in.get(export_link(page.text, "xlsx")).content[:2] == b"PK"


def test_bad_parameters_are_said_on_the_page(signed_in) -> None:  # noqa: ANN001, F811
    page = signed_in.get("/reports/retention?from=2024-02-30")
    assert page.status_code == 400 and 'id="report-error"' in page.text
    assert "from must be a date written YYYY-MM-DD" in page.text and 'value="2024-02-30"' in page.text


def test_another_workspace_sees_nothing_on_the_page(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    from tests.conftest import make_workspace

    other = make_workspace(runtime, "other")
    open_shop(runtime, other.id)
    page = signed_in.get(f"/reports/retention?{RANGE}")
    assert page.status_code == 200 and 'id="no-data"' in page.text and chart_of(page.text)["cells"] == []


def test_the_funnel_page_draws_a_bar_per_step_and_exports_them(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from tests.analytics.test_reports_funnel import STEPS, week

    first = signed_in.get("/reports/funnel")  # no steps yet: the e-commerce funnel, three boxes filled
    assert first.status_code == 200 and first.text.count('name="step"') == 4 and 'value="Product Added"' in first.text
    open_shop(runtime, workspace.id, week())
    query = "&".join(f"step={s.replace(' ', '+')}" for s in STEPS) + "&step=&breakdown=channel"
    page = signed_in.get(f"/reports/funnel?from=2024-03-01&to=2024-03-20&{query}")
    assert page.status_code == 200 and 'id="chart"' in page.text
    chart = chart_of(page.text)
    assert chart["kind"] == "funnel" and chart["steps"] == STEPS
    assert {s["name"]: s["people"] for s in chart["series"]} == {
        "小红书": [2, 2, 1],
        "未知": [3, 2, 0],
        "天猫": [1, 0, 0],
    }
    assert next(s for s in chart["series"] if s["name"] == "小红书")["conversion"] == [100.0, 100.0, 50.0]
    link = export_link(page.text, "csv")
    assert link.count("step=") == 3 and "breakdown=channel" in link
    rows = list(csv.DictReader(io.StringIO(signed_in.get(link).content.decode("utf-8-sig"))))
    assert [int(r["people"]) for r in rows if r["breakdown"] == "all"] == [6, 4, 1]


def test_a_funnel_with_too_many_steps_is_said_on_the_page(signed_in) -> None:  # noqa: ANN001, F811
    page = signed_in.get("/reports/funnel?" + "&".join(["step=A"] * 11))
    assert page.status_code == 400 and "A funnel has 2 to 10 steps; 11 were given." in page.text


def test_the_activity_page_draws_dau_wau_mau_and_stickiness(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from tests.analytics.test_reports_activity import days

    open_shop(runtime, workspace.id, days())
    page = signed_in.get("/reports/activity?from=2024-03-14&to=2024-03-20")
    assert page.status_code == 200 and 'id="stickiness">26.7%<' in page.text
    chart = chart_of(page.text)
    assert chart["kind"] == "activity" and chart["series"]["mau"] == [2, 2, 3, 2, 2, 2, 2]
    assert chart["stickiness"][2] == 66.7
    rows = list(csv.DictReader(io.StringIO(signed_in.get(export_link(page.text, "csv")).content.decode("utf-8-sig"))))
    assert [int(r["dau"]) for r in rows] == [1, 0, 2, 0, 0, 0, 1]


def test_the_revenue_and_repurchase_pages_chart_the_orders(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from tests.analytics.test_reports_revenue import orders

    open_shop(runtime, workspace.id, orders())
    page = signed_in.get("/reports/revenue?from=2024-01-01&to=2024-03-20&period=month")
    assert page.status_code == 200 and 'id="total-revenue">¥540.00<' in page.text
    chart = chart_of(page.text)
    assert (chart["kind"], chart["periods"], chart["revenue"]) == (
        "revenue",
        ["2024-01", "2024-02", "2024-03"],
        [350.0, 170.0, 20.0],
    )
    rows = list(csv.DictReader(io.StringIO(signed_in.get(export_link(page.text, "csv")).content.decode("utf-8-sig"))))
    assert [float(r["revenue"]) for r in rows] == [350.0, 170.0, 20.0, 540.0]
    page = signed_in.get("/reports/repurchase?from=2024-01-01&to=2024-03-20")
    assert page.status_code == 200 and 'id="repurchase-rate">66.7%<' in page.text
    assert chart_of(page.text)["rate"] == [100.0, 0.0, None]


def test_the_channels_page_shows_new_customers_retention_and_cost(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from tests.analytics.test_reports_channels import enter_spend, newcomers

    open_shop(runtime, workspace.id, newcomers())
    # The console session may enter spend too (with its CSRF token), as the console's own API calls do.
    token = re.search(r'name="csrf" value="([^"]+)"', signed_in.get("/reports/channels").text).group(1)
    enter_spend(signed_in, {"X-CSRF-Token": token})
    page = signed_in.get("/reports/channels?from=2024-01-01&to=2024-03-20")
    assert page.status_code == 200 and "¥750.00" in page.text and "抖音" in page.text
    chart = chart_of(page.text)
    assert (chart["kind"], chart["new"], chart["retention"]) == ("channels", [2, 2, 1, 0], [0.0, 50.0, None, None])
    rows = list(csv.DictReader(io.StringIO(signed_in.get(export_link(page.text, "csv")).content.decode("utf-8-sig"))))
    assert rows[-1]["channel"] == "all" and rows[-1]["cost_per_customer"] == "460.0"


def test_the_overview_page_shows_the_five_stages(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from tests.analytics.test_reports_aarrr import invitations
    from tests.analytics.test_reports_channels import newcomers

    open_shop(runtime, workspace.id, newcomers() + invitations())
    page = signed_in.get("/reports?from=2024-01-01&to=2024-03-20")
    assert page.status_code == 200 and 'id="activation">28.6%<' in page.text and 'id="referral">3<' in page.text
    chart = chart_of(page.text)
    assert (chart["kind"], chart["values"], chart["rates"]) == (
        "overview",
        [7, 2, 1, 3, 3],
        [None, 28.6, 25.0, None, None],
    )
    assert 'href="/reports/retention"' in page.text and 'href="/reports/channels"' in page.text


def test_the_overview_shows_the_current_nps_and_leads_to_the_surveys(signed_in, runtime: Runtime, workspace,  # noqa: ANN001, F811
                                                                     other_workspace) -> None:
    page = signed_in.get("/reports")
    assert 'id="current-nps">还没有问卷回答。<' in page.text and 'id="nps-link" href="/surveys"' in page.text
    assert 'id="report-nav-nps"' in signed_in.get("/reports/retention").text  # from every report page
    people = [int(i) for i in re.findall(r'href="/profiles/(\d+)"', signed_in.get("/profiles").text)]
    older = signed_in.post("/api/surveys", headers=workspace.bearer(), json={"name": "上季 NPS"}).json()
    survey = signed_in.post("/api/surveys", headers=workspace.bearer(), json={"name": "本季 NPS"}).json()
    theirs = signed_in.post("/api/surveys", headers=other_workspace.bearer(), json={"name": "别人的"}).json()
    for asked, scores in ((older, (0, 0)), (survey, (10, 3))):
        links = signed_in.post(f"/api/surveys/{asked['id']}/links", headers=workspace.bearer(),
                               json={"profile_ids": people[:2]}).json()["links"]
        for link, score in zip(links, scores, strict=True):
            token = link["url"].rsplit("/survey/", 1)[1]
            assert signed_in.post(f"/survey/{token}", data={"score": str(score)}).status_code == 200
    signed_in.post("/api/surveys", headers=workspace.bearer(), json={"name": "还没人答"})  # newer, no answers
    assert signed_in.post("/v1/identify", auth=(other_workspace.write_key, ""), json={"userId": "x"}).status_code == 200
    stranger = signed_in.get("/api/profiles/lookup", params={"type": "user_id", "value": "x"},
                             headers=other_workspace.bearer()).json()["id"]
    [link] = signed_in.post(f"/api/surveys/{theirs['id']}/links", headers=other_workspace.bearer(),
                            json={"profile_ids": [stranger]}).json()["links"]
    assert signed_in.post(f"/survey/{link['url'].rsplit('/survey/', 1)[1]}", data={"score": "10"}).status_code == 200
    page = signed_in.get("/reports").text
    # The newest survey with answers: one promoter, one detractor of two answers.
    assert 'id="current-nps" style="font-size: 28px; font-weight: 700">0.0<' in page
    assert f'id="nps-survey" href="/surveys/{survey["id"]}">本季 NPS<' in page
    english = signed_in.get("/reports", headers={"Accept-Language": "en"}).text
    assert "The newest survey with answers" in english


def spend_form(page: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="/reports/channels/spend" .*?</form>', page, re.S).group(0)
    return {name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', form)}


def spend_error(page: str) -> tuple[str, str]:
    found = re.search(r'id="spend-error" role="alert" data-code="([^"]+)">([^<]*)<', page)
    return found.group(1), html.unescape(found.group(2))


def test_spend_entered_in_the_console_gives_the_cost_per_customer(signed_in, runtime: Runtime, workspace) -> None:  # noqa: ANN001, F811
    from tests.analytics.test_reports_channels import RANGE, newcomers

    open_shop(runtime, workspace.id, newcomers())
    query = f"from={RANGE['from']}&to={RANGE['to']}"
    page = signed_in.get(f"/reports/channels?{query}").text
    assert 'id="no-spend"' in page and '<option value="douyin">抖音</option>' in page  # channels of the report
    form = spend_form(page)
    assert (form["from"], form["to"]) == (RANGE["from"], RANGE["to"])
    saved = signed_in.post("/reports/channels/spend", data={**form, "channel": " douyin ", "month": "2024-03",
                                                             "amount": "1,200"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/reports/channels?{query}#channel-spend"
    page = signed_in.get(saved.headers["location"]).text
    table = re.search(r'id="spend-table".*?</table>', page, re.S).group(0)
    assert "抖音" in table and "2024-03" in table and "¥1,200.00" in table
    assert chart_of(page)["cost"][0] == 600.0  # douyin: 2 new customers
    again = signed_in.post("/reports/channels/spend", data={**form, "channel": "douyin", "month": "2024-03",
                                                             "amount": "900"}, follow_redirects=False)
    assert again.status_code == 303
    listed = signed_in.get("/api/reports/channel-spend").json()
    assert [(e["channel"], e["month"], e["amount"]) for e in listed] == [("douyin", "2024-03", 900.0)]
    removed = signed_in.post("/reports/channels/spend/delete", data={"csrf": form["csrf"], "channel": "douyin",
                                                                     "month": "2024-03", "from": RANGE["from"],
                                                                     "to": RANGE["to"]}, follow_redirects=False)
    assert removed.status_code == 303
    page = signed_in.get(removed.headers["location"]).text
    assert 'id="no-spend"' in page and chart_of(page)["cost"][0] is None
    assert signed_in.get("/api/reports/channel-spend").json() == []


def test_bad_spend_is_said_in_the_form_and_nothing_is_saved(signed_in) -> None:  # noqa: ANN001, F811
    form = spend_form(signed_in.get("/reports/channels").text)
    good = {**form, "channel": "douyin", "month": "2024-03", "amount": "600"}
    for wrong, parameter, said in (
        ({"month": "2024-13"}, "month", "请按 YYYY-MM 格式填写月份"),
        ({"month": ""}, "month", "请按 YYYY-MM 格式填写月份"),
        ({"amount": "六百"}, "amount", "请填写以元为单位的金额"),
        ({"amount": "-5"}, "amount", "请填写以元为单位的金额"),
        ({"amount": "nan"}, "amount", "请填写以元为单位的金额"),
        ({"amount": "1e13"}, "amount", "请填写以元为单位的金额"),
        ({"channel": " "}, "channel", "请填写渠道代码"),
        ({"channel": "x" * 101}, "channel", "请填写渠道代码"),
    ):
        refused = signed_in.post("/reports/channels/spend", data={**good, **wrong})
        assert refused.status_code == 400, (wrong, refused.status_code)
        code, message = spend_error(refused.text)
        assert code == "reports.invalid_parameter" and message.startswith(said), wrong
        assert f'name="{parameter}"' in refused.text and 'aria-invalid="true"' in refused.text
        assert spend_form(refused.text)[parameter] == next(iter(wrong.values()))  # as typed, to correct it
    stale = signed_in.post("/reports/channels/spend", data={**good, "csrf": "forged"})
    assert stale.status_code == 403 and spend_error(stale.text)[0] == "auth.csrf"
    english = signed_in.post("/reports/channels/spend", data={**good, "month": "March"},
                             headers={"Accept-Language": "en"})
    assert spend_error(english.text)[1] == "Enter the month as YYYY-MM, e.g. 2024-03."
    bad_delete = signed_in.post("/reports/channels/spend/delete", data={"csrf": form["csrf"], "channel": "douyin",
                                                                        "month": "03/2024"})
    assert bad_delete.status_code == 400 and spend_error(bad_delete.text)[0] == "reports.invalid_parameter"
    assert signed_in.get("/api/reports/channel-spend").json() == []


def test_an_analyst_reads_the_spend_but_may_not_enter_it(client, runtime: Runtime, workspace) -> None:  # noqa: ANN001
    from siyu.analytics.reports import spend_store
    from siyu.analytics.reports.models import parse_spend
    from siyu.db.engine import write
    from siyu.workspaces import store
    from siyu.workspaces.models import Role
    from tests.web.test_pages import PASSWORD, csrf_of, sign_in

    email = f"analyst-{workspace.name}@brand.cn"
    with write(runtime.engine) as conn:
        user = store.create_user(conn, email, PASSWORD)
        store.add_member(conn, workspace.id, user.id, Role.ANALYST)
        spend_store.set_channel_spend(conn, workspace.id, parse_spend(channel="wechat", month="2024-02", amount=200),
                                      NOW_AT)
    assert sign_in(client, email).status_code == 303
    page = client.get("/reports/channels").text
    assert 'id="spend-table"' in page and "¥200.00" in page
    assert 'id="spend-form"' not in page and "/reports/channels/spend/delete" not in page
    token = csrf_of(page)
    entry = {"csrf": token, "channel": "douyin", "month": "2024-03", "amount": "600"}
    refused = client.post("/reports/channels/spend", data=entry)
    assert refused.status_code == 403 and spend_error(refused.text)[0] == "auth.forbidden"
    removal = client.post("/reports/channels/spend/delete", data={**entry, "channel": "wechat", "month": "2024-02"})
    assert removal.status_code == 403
    api = client.put("/api/reports/channel-spend", json={"channel": "douyin", "month": "2024-03", "amount": 1},
                     headers={"X-CSRF-Token": token})
    assert api.status_code == 403 and api.json()["error"]["code"] == "auth.forbidden"
    assert [e["channel"] for e in client.get("/api/reports/channel-spend").json()] == ["wechat"]


def test_another_workspaces_spend_is_not_shown_nor_removed(signed_in, runtime: Runtime) -> None:  # noqa: ANN001, F811
    from siyu.analytics.reports import spend_store
    from siyu.analytics.reports.models import parse_spend
    from siyu.db.engine import read, write
    from tests.conftest import make_workspace

    other = make_workspace(runtime, "other")
    with write(runtime.engine) as conn:
        spend_store.set_channel_spend(conn, other.id, parse_spend(channel="jd", month="2024-01", amount=5), NOW_AT)
    page = signed_in.get("/reports/channels").text
    assert 'id="no-spend"' in page
    form = spend_form(page)
    signed_in.post("/reports/channels/spend/delete", data={"csrf": form["csrf"], "channel": "jd", "month": "2024-01"})
    with read(runtime.engine) as conn:
        assert [e["channel"] for e in spend_store.list_channel_spend(conn, other.id)] == ["jd"]


def test_spend_forms_need_a_signed_in_user(client) -> None:  # noqa: ANN001
    for path in ("/reports/channels/spend", "/reports/channels/spend/delete"):
        response = client.post(path, data={"channel": "douyin", "month": "2024-03", "amount": "1"},
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
