"""``siyu clv fit``: fit the customer-value models of a workspace and score its customers."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli import WorkspaceOption, app, handles_errors, out, runtime

clv_app = typer.Typer(help="Customer value (CLV): purchase, churn and spend models.", no_args_is_help=True)
app.add_typer(clv_app, name="clv")


@clv_app.command("fit")
@handles_errors
def fit(
    workspace: WorkspaceOption,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            help="Fit on orders up to this day (YYYY-MM-DD, inclusive) and compare the rest with the forecast."
        ),
    ] = None,
    time_unit: Annotated[str, typer.Option(help="day or week: the unit of recency, age and the parameters.")] = "week",
    horizon_days: Annotated[int, typer.Option(help="CLV horizon in days.")] = 365,
    discount_rate: Annotated[float, typer.Option(help="Annual discount rate for CLV (0.1 = 10%); 0 = none.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the fit as JSON.")] = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma to the workspace's orders; write p(alive), expected purchases and CLV."""
    from siyu.analytics.clv import ClvOptions
    from siyu.analytics.clv_job import run_fit
    from siyu.analytics.clv_summary import parse_day, parse_time_unit
    from siyu.db.engine import read
    from siyu.workspaces import store

    options = ClvOptions(
        calibration_end=parse_day(calibration_end) if calibration_end else None,
        time_unit=parse_time_unit(time_unit),
        horizon_days=horizon_days,
        discount_rate=discount_rate,
    )
    rt = runtime()
    with read(rt.engine) as conn:
        ws = store.get_workspace(conn, workspace)
    result = run_fit(rt.engine, ws.id, options)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    _print(result)


def _print(result: dict[str, Any]) -> None:
    unit = result["time_unit"]
    bg, gg = result["bgnbd"], result["gamma_gamma"]
    out.print(
        f"fit {result['fit_id']}: {result['customers']:,} customers, {result['repeat_customers']:,} repeat "
        f"(orders to {result['calibration_end'] or result['observation_end']}, in {unit}s)"
    )
    out.print(f"BG/NBD       r={bg['r']:.4g}  alpha={bg['alpha']:.4g}  a={bg['a']:.4g}  b={bg['b']:.4g}")
    out.print(f"Gamma-Gamma  p={gg['p']:.4g}  q={gg['q']:.4g}  v={gg['v']:.4g}")
    out.print(f"scored {result['scored']:,} customers (CLV over {result['horizon_days']} days)")
    holdout = result["holdout"]
    if holdout:
        table = Table(title=f"holdout {holdout['start']} .. {holdout['end']}: repeat purchases per customer")
        for column in ("purchases in calibration", "customers", "actual", "predicted"):
            table.add_column(column, justify="right")
        for group in holdout["by_frequency"]:
            table.add_row(
                group["frequency"], f"{group['customers']:,}", f"{group['actual']:.3f}", f"{group['predicted']:.3f}"
            )
        table.add_row("total", f"{holdout['customers']:,}", f"{holdout['actual']:,}", f"{holdout['predicted']:,.1f}")
        out.print(table)
