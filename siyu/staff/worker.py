"""The worker's step for staff and channel codes: hand-overs submitted to WeCom and their results
polled, SOP rules run, each WeCom channel code's routing pushed where it changed (so
round-robin moves on after each add and working hours take effect without an operator), and new
contacts' unionids fetched (:mod:`siyu.staff.contact_details`).

Each runs only for workspaces with WeCom set up, and each swallows a platform that is unreachable
now (the next pass asks again); decisions are rows written before any call, so a crash between
passes repeats nothing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from siyu import clock
from siyu.db.engine import write
from siyu.runtime import Runtime

log = logging.getLogger("siyu.staff")


def run_due(rt: Runtime, workspaces: list) -> dict[str, int]:  # noqa: ANN001 - Workspace rows
    from siyu.db.engine import read
    from siyu.staff import store

    done = {"transfers_submitted": 0, "transfers_finished": 0, "sop_tasks": 0, "codes_pushed": 0, "unionids": 0}
    now = clock.now()
    with read(rt.engine) as conn:
        with_rules = store.workspaces_with_sop_rules(conn)
    for workspace in workspaces:
        try:
            _workspace_steps(rt, workspace, now, done, workspace.id in with_rules)
        except Exception:  # noqa: BLE001 - one workspace's broken rule must not stop the others' hand-overs
            log.exception("workspace %s: staff steps failed; the next pass tries again", workspace.id)
    return done


def _workspace_steps(rt: Runtime, workspace: Any, now: datetime, done: dict[str, int], has_rules: bool) -> None:
    from siyu.acquisition.channel_codes import sync_all
    from siyu.channels.base import ChannelError
    from siyu.errors import SiyuError
    from siyu.staff.contact_details import fetch_due
    from siyu.staff.tasks import run_sop_rules
    from siyu.staff.transfers import poll_transfers, submit_transfers

    try:
        if has_rules:  # a write transaction only where there is a rule to run
            with write(rt.engine) as conn:
                ran = run_sop_rules(conn, workspace.id, now, workspace.timezone)
            done["sop_tasks"] += sum(r["created"] for r in ran.values())
    except SiyuError:  # a rule whose segment no longer compiles: logged, the hand-overs below still run
        log.warning("workspace %s: SOP rules failed", workspace.id, exc_info=True)
    if not ((workspace.settings or {}).get("channels") or {}).get("wecom"):
        return
    try:
        done["transfers_submitted"] += submit_transfers(rt.engine, workspace, now=now)
        done["transfers_finished"] += poll_transfers(rt.engine, workspace, now=now)
        done["codes_pushed"] += sync_all(rt.engine, workspace, now)
    except SiyuError:  # WeCom settings incomplete: the operator sees it on the API calls that need them
        log.info("workspace %s: WeCom steps skipped (settings incomplete)", workspace.id, exc_info=True)
    try:  # contacts' unionids: after the hand-overs, so a contact taken over this pass is found too
        done["unionids"] += fetch_due(rt.engine, workspace, now)["unionids"]
    except ChannelError:  # WeCom settings incomplete: the lookups wait, nothing is lost
        log.info("workspace %s: contact lookups skipped", workspace.id, exc_info=True)
