"""Readers of the CDNOW sample (see NOTICE.md for where it comes from)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
CALIBRATION_END = date(1997, 9, 30)  # 39 weeks after 1 January 1997, the papers' calibration period
CUSTOMERS = 2357


def transactions() -> list[tuple[int, date, float]]:
    """(sample customer id 1..2357, date, amount) for each of the 6,919 order lines."""
    rows = []
    for line in (HERE / "CDNOW_sample.txt").read_text().splitlines():
        _master_id, customer, day, _quantity, amount = line.split()
        rows.append((int(customer), date(int(day[:4]), int(day[4:6]), int(day[6:])), float(amount)))
    return rows


def lifetimes_summary() -> dict[int, tuple[int, float, float, float]]:
    """lifetimes' calibration summary: customer -> (x, t_x, T, zbar), weeks, two decimals."""
    with (HERE / "cdnow_customers_summary_with_transactions.csv").open(newline="") as file:
        return {
            int(r["ID"]): (int(r["x"]), float(r["t_x"]), float(r["T"]), float(r["zbar"])) for r in csv.DictReader(file)
        }
