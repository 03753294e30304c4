"""People and hours: manual steps need an operator on shift; runs lie inside the lab's hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from browser_runtime.scheduler import (
    MachineNeed,
    Operator,
    OperatorBusy,
    Problem,
    RunRequest,
    ScheduleError,
    list_schedule,
    optimise,
    weekly,
)

from .checks import check_schedule
from .conftest import NOW, at, lh_request, plates, small_workcells


def loaded(run_id: str, minutes: float = 30, **extra) -> RunRequest:
    return RunRequest(run_id, "p", minutes * 60, machines=(MachineNeed("lh", "liquid_handler"),),
                      load_s=300.0, unload_s=120.0, **extra)


def test_manual_steps_wait_for_an_operator_on_shift():
    # Ana is on 08:00-08:30 and again from 09:00; two runs each need her to load and unload.
    operators = [Operator("Ana", ((NOW, at(30)), (at(60), at(480))))]
    problem = Problem(NOW, small_workcells(), [loaded("r1"), loaded("r2")], operators=operators)
    for schedule in (list_schedule(problem), optimise(problem, iterations=20)):
        check_schedule(problem, schedule)  # every manual step inside a shift, one at a time
        steps = sorted((s.start_s, s.end_s, s.kind) for p in schedule.placements for s in p.segments
                       if s.kind != "run")
        assert all(step[2] in ("load", "unload") for step in steps) and len(steps) == 4
        assert all(a[1] <= b[0] for a, b in zip(steps, steps[1:]))  # one operator: one at a time
        assert {p.segments[0].operator for p in schedule.placements} == {"Ana"}


def test_an_operator_busy_elsewhere_is_not_booked_twice():
    operators = [Operator("Ana", ((NOW, at(480)),))]
    taken = [OperatorBusy("Ana", NOW, at(20), "a delivery")]
    problem = Problem(NOW, small_workcells(), [loaded("r1")], operators=operators, operator_busy=taken)
    placement = list_schedule(problem).placements[0]
    assert placement.start_s == 20 * 60


def test_without_an_operator_manual_runs_are_refused_and_others_go_on():
    problem = Problem(NOW, small_workcells(), [loaded("manual"), lh_request("auto")], plates(), operators=[])
    schedule = list_schedule(problem)
    assert [p.request for p in schedule.placements] == ["auto"]
    (refused,) = schedule.infeasible
    assert refused.kind == "calendar" and "no operator is registered" in refused.message
    ended = [Operator("Ana", ((NOW - timedelta(hours=2), NOW - timedelta(hours=1)),))]
    (gone,) = list_schedule(Problem(NOW, small_workcells(), [loaded("manual")], operators=ended)).infeasible
    assert gone.kind == "calendar" and "'operator Ana' is held by Ana is off shift for good" in gone.message


def test_runs_lie_inside_the_lab_hours():
    # Open 08:00-10:00 and 11:00-17:00: a 90 min run submitted at 09:00 waits for 11:00.
    hours = [(NOW, at(120)), (at(180), at(540))]
    runs = [lh_request("late", 90, earliest_start=at(60)), lh_request("early", 60)]
    problem = Problem(NOW, small_workcells(), runs, plates(), lab_hours=hours)
    schedule = list_schedule(problem)
    check_schedule(problem, schedule)
    starts = {p.request: p.start_s for p in schedule.placements}
    assert starts == {"early": 0, "late": 180 * 60}
    (too_long,) = list_schedule(Problem(NOW, small_workcells(), [lh_request("long", 600)], plates(),
                                          lab_hours=hours)).infeasible
    assert too_long.kind == "calendar" and "closed" in too_long.message


def test_weekly_calendars_expand_a_usual_week():
    zone = UTC
    windows = weekly(["mon", "wed"], time(8), time(17), date(2025, 6, 2), 7, zone)  # 2 June 2025 is a Monday
    assert windows == [(datetime(2025, 6, 2, 8, tzinfo=zone), datetime(2025, 6, 2, 17, tzinfo=zone)),
                       (datetime(2025, 6, 4, 8, tzinfo=zone), datetime(2025, 6, 4, 17, tzinfo=zone))]
    night = weekly(["fri"], time(22), time(6), date(2025, 6, 2), 7, zone)
    assert night == [(datetime(2025, 6, 6, 22, tzinfo=zone), datetime(2025, 6, 7, 6, tzinfo=zone))]
    from browser_runtime.scheduler import RequestError

    with pytest.raises(RequestError, match="weekday must be one of"):
        weekly(["monday"], time(8), time(17), date(2025, 6, 2), 7, zone)


def test_the_book_keeps_hours_and_shifts_and_plans_by_them(book):
    assert book.lab_hours() is None and book.shifts() == []
    book.set_lab_hours([(NOW, at(120)), (at(100), at(240))])  # overlapping windows are joined
    assert book.lab_hours() == [{"starts_at": NOW.isoformat(), "ends_at": at(240).isoformat()}]
    shift = book.add_shift("Ana", at(30), at(300))
    book.submit([RunRequest("loaded", "p", 600, machines=(MachineNeed("lh", "liquid_handler"),), load_s=120.0)])
    run = book.run("loaded")
    assert run["starts_at"] == at(30).isoformat()  # nobody to load it before Ana comes
    assert run["segments"][0] == {"kind": "load", "label": "load", "operator": "Ana",
                                  "starts_at": at(30).isoformat(), "ends_at": at(32).isoformat()}
    snapshot = book.snapshot()
    assert snapshot["calendars"]["shifts"] == [shift] and snapshot["calendars"]["lab_hours"]
    with pytest.raises(ScheduleError, match="not after"):
        book.add_shift("Ben", at(60), at(30))
    with pytest.raises(ScheduleError, match="time zone"):
        book.set_lab_hours([(datetime(2025, 6, 2, 8), datetime(2025, 6, 2, 9))])
    book.remove_shift(shift["id"])
    with pytest.raises(ScheduleError, match=f"no shift {shift['id']}"):
        book.remove_shift(shift["id"])
    book.set_lab_hours(None)
    assert book.lab_hours() is None
