"""The worker's step for community groups and what is built on them: sync the groups callbacks
marked, create due broadcast tasks in WeCom, the group live codes' alerts (their counts come from the
groups) and webhooks, and the avatars posters asked for (pages never fetch them themselves)."""

from __future__ import annotations

from siyu.runtime import Runtime


def run_due(rt: Runtime) -> dict[str, int]:
    from siyu.acquisition import group_codes_live, posters_live
    from siyu.groups.sending import send_due
    from siyu.groups.sync import sync_due

    done = {"synced": sync_due(rt)}
    for outcome, count in send_due(rt).items():
        done[f"broadcast_{outcome}"] = count
    done["group_code_alerts"] = group_codes_live.check_all(rt)
    done["group_code_webhooks"] = group_codes_live.send_webhooks(rt)
    done["poster_avatars"] = posters_live.fetch_avatars(rt)
    return done
