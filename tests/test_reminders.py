"""Reminders and routing as pure decisions, on a fake clock ticking every minute.

The story: support-assistant's step is waiting for bob (model owner, Berlin team, works
09:00–17:00 Europe/Berlin, Monday to Friday). alice (model owner and ML lead) is in
Berlin too, carol (ML lead) in New York, erin holds the on-call role, dave is an ML
engineer in no team. April 2025: Berlin is on summer time (UTC+2), so its 09:00 is
07:00 UTC. 2025-04-08 is a Tuesday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ladder.reminders import ReminderEntry, needs_reminder
from ladder.routing import Absence, Directory, WorkingHours, route
from ladder.sla import sla_clocks
from thresholds.schema import RoutingSettings, SlaSettings, TeamSettings

UTC = timezone.utc
TUESDAY_10 = datetime(2025, 4, 8, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
TUESDAY_02 = datetime(2025, 4, 8, 2, 0, tzinfo=UTC)  # 04:00 in Berlin
BERLIN_OPENS_TUESDAY = datetime(2025, 4, 8, 7, 0, tzinfo=UTC)  # 09:00 CEST

PEOPLE = {
    "alice": ("model_owner", "ml_lead"),
    "bob": ("model_owner",),
    "carol": ("ml_lead", "finance"),
    "dave": ("ml_engineer",),
    "erin": ("on_call", "ml_engineer"),
}
BERLIN = TeamSettings(
    timezone="Europe/Berlin", members=["alice", "bob"], holidays=[date(2025, 4, 21)]
)  # Easter Monday
NEW_YORK = TeamSettings(timezone="America/New_York", members=["carol"])
ROUTING = RoutingSettings(teams={"berlin": BERLIN, "new-york": NEW_YORK})


def directory(
    *absences: Absence, people: dict[str, tuple[str, ...]] | None = None, **routing: object
) -> Directory:
    settings = ROUTING.model_copy(update=routing) if routing else ROUTING
    return Directory(people=people or PEOPLE, routing=settings, absences=absences)


def away(person: str, *, delegate: str | None = None, days: int = 7) -> Absence:
    return Absence(
        id=1,
        person=person,
        starts_at=TUESDAY_02 - timedelta(days=1),
        until=TUESDAY_02 + timedelta(days=days),
        delegate=delegate,
    )


# ------------------------------------------------------------ a minute clock


def entry(requested: datetime = TUESDAY_10, tier: int = 2, **kw: object) -> ReminderEntry:
    return ReminderEntry(requested_at=requested, tier=tier, clocks=sla_clocks(), **kw)  # type: ignore[arg-type]


def tick_every_minute(start: ReminderEntry, *, hours: float) -> list[tuple[int, str]]:
    """Run the clock once a minute, carrying out each action as the shell would; the
    actions as (minutes after the request, kind)."""
    current, done = start, []
    for minute in range(int(hours * 60) + 1):
        now = start.requested_at + timedelta(minutes=minute)
        reason = needs_reminder(current, now)
        if not reason.due:
            continue
        done.append((minute, reason.kind))
        if reason.kind == "expire":
            break
        if reason.kind == "ack_reminder":
            current = replace(current, ack_reminded_at=now)
        elif reason.kind == "decision_reminder":
            current = replace(current, decision_reminded_at=now)
        else:
            current = replace(current, next_level_at=now)
    return done


def test_an_unacknowledged_request_is_reminded_at_30_minutes_and_goes_up_at_2_hours() -> None:
    assert tick_every_minute(entry(), hours=150) == [
        (30, "ack_reminder"),
        (120, "next_level"),
        (48 * 60, "decision_reminder"),  # tier 2: resolved within 48 h
        (144 * 60, "expire"),  # the cap: 48 h + 2 × 48 h
    ]


def test_a_reminder_is_never_early_and_says_when_the_next_one_is_due() -> None:
    early = needs_reminder(entry(), TUESDAY_10 + timedelta(minutes=29, seconds=59))
    assert (early.kind, early.due_at) == ("not_due", TUESDAY_10 + timedelta(minutes=30))

    due = needs_reminder(entry(), TUESDAY_10 + timedelta(minutes=30))
    assert due.kind == "ack_reminder"
    assert due.due_at == TUESDAY_10 + timedelta(hours=2)
    assert due.text == (
        "not acknowledged 30 min after it was requested 2025-04-08 10:00 UTC: re-notified "
        "(tier 2: acknowledge by 2025-04-09 10:00 UTC); next due 2025-04-08 12:00 UTC"
    )
    up = needs_reminder(
        replace(entry(), ack_reminded_at=due.due_at), TUESDAY_10 + timedelta(hours=2)
    )
    assert up.kind == "next_level"
    assert up.due_at == TUESDAY_10 + timedelta(hours=48)


def test_an_acknowledged_request_is_not_reminded_but_its_decision_clock_runs() -> None:
    acked = entry(acked_at=TUESDAY_10 + timedelta(minutes=10))
    assert needs_reminder(acked, TUESDAY_10 + timedelta(hours=3)).due_at == (
        TUESDAY_10 + timedelta(hours=96)
    )
    assert tick_every_minute(acked, hours=150) == [(96 * 60, "escalate"), (144 * 60, "expire")]


def test_a_request_that_came_in_at_night_is_reminded_into_the_working_day() -> None:
    night = entry(TUESDAY_02, working=WorkingHours.of(BERLIN))
    # 02:00 UTC request; Berlin opens 07:00 UTC: reminded 07:30, next level 09:00 UTC.
    assert tick_every_minute(night, hours=8) == [(330, "ack_reminder"), (420, "next_level")]
    reason = needs_reminder(night, BERLIN_OPENS_TUESDAY + timedelta(minutes=30))
    assert reason.text.startswith(
        "not acknowledged 30 min after it was requested 2025-04-08 02:00 UTC (counted in "
        "the approvers' working hours, Europe/Berlin): re-notified"
    )


def test_the_reminder_clocks_stop_at_closing_time_and_go_on_the_next_morning() -> None:
    # 16:45 in Berlin (14:45 UTC), a quarter of an hour before closing.
    late = entry(datetime(2025, 4, 8, 14, 45, tzinfo=UTC), tier=1, working=WorkingHours.of(BERLIN))
    # 15 working minutes on Tuesday, 15 on Wednesday from 09:00 CEST (07:00 UTC) …
    assert late.after(timedelta(minutes=30)) == datetime(2025, 4, 9, 7, 15, tzinfo=UTC)
    # … and the next level 1 h 45 min into Wednesday.
    assert late.after(timedelta(hours=2)) == datetime(2025, 4, 9, 8, 45, tzinfo=UTC)
    assert tick_every_minute(late, hours=20) == [(990, "ack_reminder"), (1080, "next_level")]
    # Friday evening's request waits for Monday; Easter Monday pushes it to Tuesday.
    friday = entry(datetime(2025, 4, 18, 14, 45, tzinfo=UTC), working=WorkingHours.of(BERLIN))
    assert friday.after(timedelta(minutes=30)) == datetime(2025, 4, 22, 7, 15, tzinfo=UTC)


def test_tier_3_clocks_run_around_the_clock() -> None:
    night = entry(TUESDAY_02, tier=3, working=WorkingHours.of(BERLIN))
    assert tick_every_minute(night, hours=3) == [(30, "ack_reminder"), (120, "next_level")]


def test_tier_4_has_every_level_from_the_start_and_four_hours_to_decide() -> None:
    critical = entry(tier=4, next_level_at=TUESDAY_10)
    assert tick_every_minute(critical, hours=13) == [
        (30, "ack_reminder"),
        (240, "decision_reminder"),
        (720, "expire"),
    ]


def test_the_register_sets_the_cadence() -> None:
    slower = replace(
        entry(), clocks=sla_clocks(SlaSettings(remind_after="1h", next_level_after="4h"))
    )
    assert tick_every_minute(slower, hours=5) == [(60, "ack_reminder"), (240, "next_level")]


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=1, max_value=3 * 24 * 60), min_size=1, max_size=40),
    tier=st.integers(min_value=1, max_value=4),
    acked_after=st.one_of(st.none(), st.integers(min_value=0, max_value=5 * 24 * 60)),
)
def test_however_often_the_clock_runs_each_action_happens_once_in_order_and_never_early(
    gaps: list[int], tier: int, acked_after: int | None
) -> None:
    start = entry(tier=tier, next_level_at=TUESDAY_10 if tier == 4 else None)
    current, now, seen = start, TUESDAY_10, []
    for gap in gaps:
        now += timedelta(minutes=gap)
        if (
            acked_after is not None
            and current.acked_at is None
            and (now - TUESDAY_10 >= timedelta(minutes=acked_after))
        ):
            current = replace(current, acked_at=now)
        reason = needs_reminder(current, now)
        if not reason.due:
            continue
        seen.append(reason.kind)
        deadlines = start.deadlines
        earliest = {
            "ack_reminder": TUESDAY_10 + timedelta(minutes=30),
            "next_level": TUESDAY_10 + timedelta(hours=2),
            "decision_reminder": deadlines.decide_due,
            "escalate": deadlines.escalate_at,
            "expire": deadlines.expire_at,
        }[reason.kind]
        assert now >= earliest
        if reason.kind == "expire":
            break
        field = {
            "ack_reminder": "ack_reminded_at",
            "decision_reminder": "decision_reminded_at",
        }.get(reason.kind, "next_level_at")
        current = replace(current, **{field: now})
    assert len(seen) == len(set(seen))
    order = ["ack_reminder", "next_level", "decision_reminder", "escalate", "expire"]
    assert seen == sorted(seen, key=order.index)
    # Nobody above the approvers hears before the approvers were reminded.
    if "next_level" in seen:
        assert "ack_reminder" in seen[: seen.index("next_level")]
    assert not ("next_level" in seen and "escalate" in seen)


# ------------------------------------------------------------------ routing


def test_in_working_hours_the_approver_alone_is_told_and_nothing_more_is_said() -> None:
    routed = route(["bob"], directory=directory(), now=TUESDAY_10, tier=2)
    assert routed.recipients == ("bob",)
    assert routed.plain and routed.describe() == "" and routed.priority == "normal"


def test_at_night_the_on_call_role_is_told_and_when_an_approver_will_act() -> None:
    routed = route(["bob"], directory=directory(), now=TUESDAY_02, tier=2)
    assert routed.recipients == ("bob", "erin")
    assert routed.acts_by == BERLIN_OPENS_TUESDAY
    assert routed.describe() == (
        "routed to the on_call role (erin); outside business hours: an approver will pick "
        "this up before 09:00 Europe/Berlin"
    )


def test_friday_evening_waits_for_monday_and_a_holiday_for_tuesday() -> None:
    friday_evening = datetime(2025, 4, 11, 16, 30, tzinfo=UTC)  # 18:30 in Berlin
    routed = route(["bob"], directory=directory(), now=friday_evening, tier=1)
    assert routed.acts_by == datetime(2025, 4, 14, 7, 0, tzinfo=UTC)
    assert routed.acts_by_text.endswith("before 09:00 Europe/Berlin on Monday 2025-04-14")

    before_easter = datetime(2025, 4, 18, 16, 30, tzinfo=UTC)
    routed = route(["bob"], directory=directory(), now=before_easter, tier=1)
    assert routed.acts_by == datetime(2025, 4, 22, 7, 0, tzinfo=UTC)
    assert routed.acts_by_text.endswith("on Tuesday 2025-04-22")


def test_working_hours_follow_the_teams_clock_across_daylight_saving() -> None:
    hours = WorkingHours.of(BERLIN)
    winter_night = datetime(2025, 1, 14, 3, 0, tzinfo=UTC)
    assert hours.next_opening(winter_night) == datetime(2025, 1, 14, 8, 0, tzinfo=UTC)
    # 2025-03-31 is the first Monday on summer time: 09:00 CEST is 07:00 UTC.
    assert hours.next_opening(datetime(2025, 3, 29, 12, tzinfo=UTC)) == datetime(
        2025, 3, 31, 7, 0, tzinfo=UTC
    )
    assert hours.is_open(datetime(2025, 3, 31, 14, 59, tzinfo=UTC))
    assert not hours.is_open(datetime(2025, 3, 31, 15, 0, tzinfo=UTC))  # 17:00 CEST


def test_an_approver_away_is_replaced_by_a_delegate_who_holds_the_role() -> None:
    routed = route(
        ["bob"],
        directory=directory(away("bob", delegate="alice")),
        now=TUESDAY_10,
        tier=2,
        needs=("model_owner",),
    )
    assert routed.recipients == ("alice",)
    assert routed.describe() == "bob is away until 2025-04-15 02:00 UTC: delegated to alice"


def test_a_delegate_without_the_role_cannot_stand_in_so_the_on_call_role_is_told() -> None:
    routed = route(
        ["bob"],
        directory=directory(away("bob", delegate="dave")),
        now=TUESDAY_10,
        tier=2,
        needs=("model_owner",),
    )
    assert routed.recipients == ("erin",)
    assert not routed.unroutable
    assert routed.describe() == (
        "bob is away until 2025-04-15 02:00 UTC (dave, their delegate, cannot stand in); "
        "nobody it concerns can act: routed to the on_call role (erin)"
    )


def test_when_nobody_can_be_reached_it_goes_to_everyone_at_the_highest_priority() -> None:
    nobody_on_call = {p: r for p, r in PEOPLE.items() if p != "erin"}
    routed = route(
        ["bob"],
        directory=directory(away("bob"), people=nobody_on_call),
        now=TUESDAY_10,
        tier=1,
        needs=("model_owner",),
        owner="alice",
    )
    assert routed.unroutable
    assert (routed.recipients, routed.priority) == (("bob", "alice"), "highest")
    assert "UNROUTABLE: no configured person can be reached" in routed.describe()


def test_tier_3_always_pages_the_on_call_role() -> None:
    routed = route(["bob"], directory=directory(), now=TUESDAY_10, tier=3)
    assert routed.recipients == ("bob", "erin")
    assert routed.priority == "high"
    assert routed.describe() == "tier 3 pages the on_call role (erin)"


def test_the_next_level_is_the_manager_else_the_escalate_to_roles_else_on_call() -> None:
    managed = directory(escalate_to={"bob": "carol"})
    assert route(
        ["bob"], directory=managed, now=TUESDAY_10, tier=2, next_level=True, chain=("alice",)
    ).recipients == ("bob", "carol")
    assert route(
        ["bob"], directory=directory(), now=TUESDAY_10, tier=2, next_level=True, chain=("alice",)
    ).recipients == ("bob", "alice")
    routed = route(["bob"], directory=directory(), now=TUESDAY_10, tier=2, next_level=True)
    assert routed.recipients == ("bob", "erin")
    assert routed.describe() == "next level: the on_call role (erin)"


def test_an_on_call_person_away_hands_the_pager_to_an_on_call_delegate_only() -> None:
    people = {**PEOPLE, "frank": ("on_call",)}
    assert directory(away("erin", delegate="frank"), people=people).on_call(TUESDAY_10) == (
        "frank",
    )
    assert directory(away("erin", delegate="dave"), people=people).on_call(TUESDAY_10) == (
        "frank",  # frank holds the role himself; dave cannot carry it
    )


@pytest.mark.parametrize("person", ["erin", "dave"])
def test_on_call_holders_and_people_in_no_team_are_reachable_at_any_hour(person: str) -> None:
    assert route([person], directory=directory(), now=TUESDAY_02, tier=1).recipients == (person,)
