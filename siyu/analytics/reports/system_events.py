"""What counts as a person's activity: every event except those siyu writes about the person.

Reports that count "any event" — active people (DAU / WAU / MAU), retention's default returning
event, the channel report's and the AARRR overview's 30-day retention, a person's first-seen
instant and first channel — count only what the person did. The event log also holds what siyu
wrote about them, and counting that made people who did nothing look active: someone moved out of
"active in the last 90 days" by the refresh 91 days after their last event was DAU 1 that day.

:data:`SYSTEM_EVENTS` are those events, each written into the log directly by siyu, never through
ingest:

* ``Segment Entered`` / ``Segment Exited`` (``siyu.segments.store``): membership changes found by
  real-time evaluation or by the scheduled refresh — often by time passing alone.
* ``Tag Added`` / ``Tag Removed`` (``siyu.profiles.tagging``): staff tagging by hand, bulk tagging,
  imports and auto-tag rules.
* ``Consent Changed`` (``siyu.profiles.editing``): consent recorded through the management API.
  It may relay the person's own choice (they replied TD), but it is the brand's record, timed when
  it was written; what the person did, when the client sends it, is an ordinary event that counts.
* ``Traits Changed`` (``siyu.profiles.editing``): an operator editing traits.
* Loyalty's own entries (``siyu.loyalty.models.SYSTEM_ENTRIES``): ``Tier Changed``, ``Tier At Risk``,
  ``Points Expiring`` and ``Points Changed`` — a nightly expiry or downgrade is not the member's visit.
  ``Task Completed`` is not among them: it follows the person's own steps, and loyalty's growth counts
  it as an active day.

Deliberately not in the set:

* Merges and erasures write no event (``profile_merges``, ``erasures``). A merged-away person's
  events count under the survivor; an erased person's events keep their name and time and keep
  counting, so erasing someone does not change last month's DAU.
* Imported events go through ingest as the person's history (orders, visits) and count; the tags
  an import sets are ``Tag Added``.
* Every call a client sends — track, identify, page, screen, group, alias — counts, as it does in
  the profile rollups.

The same events never reach the rollups (``first_seen_at``, ``last_seen_at``, ``event_count``),
because they bypass ingest, so a report's activity and a profile's "last seen" agree. The names
are treated as reserved: a client track call with one of them is not counted here, although ingest
folds it into the rollups (the one place the two can differ).

A report asked for one of these events by name — a funnel step, the returning event of retention,
the event of DAU — counts it: the user chose it.
"""

from __future__ import annotations

from siyu.loyalty.models import SYSTEM_ENTRIES as LOYALTY_ENTRIES
from siyu.profiles.editing import CONSENT_CHANGED, TRAITS_CHANGED
from siyu.profiles.tagging import TAG_ADDED, TAG_REMOVED
from siyu.segments.store import ENTERED as SEGMENT_ENTERED
from siyu.segments.store import EXITED as SEGMENT_EXITED

SYSTEM_EVENTS: frozenset[str] = frozenset(
    {SEGMENT_ENTERED, SEGMENT_EXITED, TAG_ADDED, TAG_REMOVED, CONSENT_CHANGED, TRAITS_CHANGED}
) | LOYALTY_ENTRIES


def activity_sql(column: str = "name") -> str:
    """DuckDB condition, true for the events that count as activity (``events.name`` is never NULL).

    The names are siyu's own constants, so they are written in as literals: every query can add the
    condition without threading one more parameter through.
    """
    names = ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(SYSTEM_EVENTS))
    return f"{column} NOT IN ({names})"
