"""`siyu codes` through the real Typer app, against the fake WeChat API; and the card's font fallback."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from siyu.acquisition import qr
from tests.staff.platforms import platforms


def cli(runtime, *args: str):  # noqa: ANN001, ANN201
    import siyu.acquisition.channel_codes_cli  # noqa: F401 - registers `siyu codes` on the app
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir)})


def test_create_list_stats_and_download(runtime, client, workspace, tmp_path: Path) -> None:  # noqa: ANN001
    w = workspace.name
    with platforms(runtime, client, workspace) as fake:
        made = cli(runtime, "codes", "create", "-w", w, "wechat_qr", "store_bj", "北京门店", "--expire-days", "30",
                   "--welcome", "欢迎光临", "--tag", "门店", "--json")
        assert made.exit_code == 0, made.output
        code = json.loads(made.stdout)
        assert fake.wechat.qrcodes[code["ticket"]]["expire_seconds"] == 30 * 86400
        listed = json.loads(cli(runtime, "codes", "list", "-w", w, "--json").stdout)
        assert [(c["key"], c["expired"]) for c in listed] == [("store_bj", False)]
        figures = json.loads(cli(runtime, "codes", "stats", "-w", w, str(code["id"]), "--json").stdout)
        assert figures["days"] == [] and figures["follow_through"]["arrived"] == 0
        for name, extra, magic in (("qr.png", [], b"\x89PNG"), ("qr.svg", [], b"<?xml"),
                                   ("card.png", ["--card"], b"\x89PNG")):
            wrote = cli(runtime, "codes", "download", "-w", w, str(code["id"]), str(tmp_path / name), *extra)
            assert wrote.exit_code == 0, wrote.output
            assert (tmp_path / name).read_bytes().startswith(magic)
        bad = cli(runtime, "codes", "create", "-w", w, "wecom_contact", "x1", "Bad", "--routing", "{")
        assert bad.exit_code == 2 and "not JSON" in bad.output
        missing = cli(runtime, "codes", "stats", "-w", w, "999999")
        assert missing.exit_code == 2 and "No channel code" in missing.output


def test_a_card_prints_without_the_cjk_font() -> None:
    drawn = qr.card("http://weixin.qq.com/q/x", "天猫包裹卡", "扫码", fonts=(Path("/nonexistent/a.ttc"),
                                                                           Path("/nonexistent/b.ttc")))
    assert Image.open(BytesIO(drawn)).size == (qr.CARD_WIDTH, qr.CARD_HEIGHT)


def test_a_cash_reward_is_set_at_creation_changed_and_removed_from_the_cli(  # noqa: ANN001
        runtime, client, workspace) -> None:
    w, auth = workspace.name, workspace.bearer()
    routing = json.dumps({"strategy": "round_robin", "staff": [{"userid": "wanzi_a"}]})
    with platforms(runtime, client, workspace) as fake:
        made = cli(runtime, "codes", "create", "-w", w, "wecom_contact", "tmall_card", "天猫包裹卡",
                   "--routing", routing, "--reward", "188", "--reward-wishing", "小完子送你红包",
                   "--reward-budget", "376", "--json")
        assert made.exit_code == 0, made.output
        code = json.loads(made.stdout)
        assert code["reward"] == {"cash_fen": 188, "wishing": "小完子送你红包", "budget_fen": 376}

        raised = cli(runtime, "codes", "update", "-w", w, str(code["id"]), "--reward", "288", "--json")
        assert raised.exit_code == 0, raised.output  # the amount changes; wishing and budget stay
        assert json.loads(raised.stdout)["reward"] == {"cash_fen": 288, "wishing": "小完子送你红包",
                                                       "budget_fen": 376}
        first = fake.customer(client, workspace, "wanzi_a", "wmCliReward1", state="tmall_card")
        [reward] = client.get(f"/api/profiles/{first}/rewards", headers=auth).json()
        assert (reward["amount_fen"], reward["status"]) == (288, "decided")  # arrivals get the new amount

        too_small = cli(runtime, "codes", "update", "-w", w, str(code["id"]), "--reward", "50")
        assert too_small.exit_code == 2 and "1-200 yuan" in too_small.output
        both = cli(runtime, "codes", "update", "-w", w, str(code["id"]), "--no-reward", "--reward", "100")
        assert both.exit_code == 2
        removed = cli(runtime, "codes", "update", "-w", w, str(code["id"]), "--no-reward", "--name", "包裹卡")
        assert removed.exit_code == 0 and "no reward" in removed.output
        shown = client.get(f"/api/channel-codes/{code['id']}", headers=auth).json()
        assert (shown["reward"], shown["name"]) == (None, "包裹卡")
        second = fake.customer(client, workspace, "wanzi_a", "wmCliReward2", state="tmall_card")
        assert client.get(f"/api/profiles/{second}/rewards", headers=auth).json() == []

        wishing_only = cli(runtime, "codes", "update", "-w", w, str(code["id"]), "--reward-wishing", "hi")
        assert wishing_only.exit_code == 2 and "--reward" in wishing_only.output
        nothing = cli(runtime, "codes", "update", "-w", w, str(code["id"]))
        assert nothing.exit_code == 2 and "Nothing to change" in nothing.output
        alone = cli(runtime, "codes", "create", "-w", w, "wechat_qr", "x2", "X", "--reward-budget", "10")
        assert alone.exit_code == 2
