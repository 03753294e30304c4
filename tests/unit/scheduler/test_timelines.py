"""Runs hold each machine only while they use it; time links are pause points the scheduler may
wait at, and the runner's watch keeps them (waits out a minimum, reports a missed maximum)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from browser_runtime.protocols import TimeLink
from browser_runtime.machines import build_simulated_machine
from browser_runtime.scheduler import (
    Busy,
    Labware,
    Machine,
    MachineNeed,
    Problem,
    RequestError,
    TimeLinkError,
    TimeLinkWatch,
    VirtualClock,
    Workcell,
    estimate_protocol,
    list_schedule,
    optimise,
    planned_starts,
)
from browser_runtime.scheduler.submission import request_from_document

from .checks import check_schedule
from .conftest import DEMOS, NOW

FIXTURES = DEMOS.parents[1] / "tests" / "fixtures" / "protocols"
READER = Machine(2, "shared reader", "plate_reader", frozenset({"absorbance", "door"}))
ARM = frozenset({"gripper", "pipetting", "tip_handling"})
HS = frozenset({"shaking", "temperature", "plate_lock"})


def two_liquid_handlers_one_reader() -> list[Workcell]:
    """Alpha and Bravo each have a liquid handler and a heater-shaker; both reach one reader."""
    return [Workcell("Alpha", (Machine(1, "Alpha LH", "liquid_handler", ARM), READER,
                               Machine(3, "Alpha HS", "heater_shaker", HS))),
            Workcell("Bravo", (Machine(4, "Bravo LH", "liquid_handler", ARM), READER,
                               Machine(5, "Bravo HS", "heater_shaker", HS)))]


def stock() -> list[Labware]:
    return ([Labware(100 + i, f"plate {i}", None, "plate") for i in range(4)]
            + [Labware(110 + i, f"tips {i}", None, "tip_rack", tips=96) for i in range(2)]
            + [Labware(120 + i, f"trough {i}", None, "trough", volume_ul=100_000.0) for i in range(2)])


async def request(name: str, run_id: str, catalog, **extra):
    source = ((DEMOS if (DEMOS / name).exists() else FIXTURES) / name).read_text()
    return await request_from_document({"id": run_id, "source": source, "filename": name, **extra}, catalog)


def test_the_elisa_reader_is_free_while_the_liquid_handler_carries_the_plate(run_async, plr_catalog):
    first, second = run_async(_elisas(plr_catalog))
    lh, reader = first.timeline.machines["lh"], first.timeline.machines["reader"]
    assert lh[1] < reader[1] < reader[3] < lh[3]  # the reader's hold sits inside the run
    assert first.duration_s - (reader[3] - reader[1]) > 40  # free for most of the run
    problem = Problem(NOW, two_liquid_handlers_one_reader(), [first, second], stock())
    schedule = list_schedule(problem)
    check_schedule(problem, schedule)
    alpha, bravo = sorted(schedule.placements, key=lambda p: p.workcell)
    assert (alpha.workcell, bravo.workcell) == ("Alpha", "Bravo")  # one machine, two workcells
    # The two runs overlap: each holds the shared reader only while it reads.
    assert schedule.makespan_s < first.duration_s + second.duration_s - 40
    reads = sorted((h.start_s, h.end_s) for p in schedule.placements for h in p.holds if h.asset_id == 2)
    assert len(reads) == 2 and reads[0][1] <= reads[1][0]


async def _elisas(catalog):
    return (await request("elisa_read.py", "elisa-1", catalog), await request("elisa_read.py", "elisa-2", catalog))


def test_without_a_timeline_a_shared_machine_serialises_whole_runs():
    runs = [dict(id=f"read-{i}", protocol="read", duration_s=600, workcell=cell,
                 machines=[{"parameter": "lh", "kind": "liquid_handler"},
                           {"parameter": "reader", "kind": "plate_reader"}]) for i, cell in enumerate(["Alpha", "Bravo"])]
    from browser_runtime.scheduler import RunRequest

    problem = Problem(NOW, two_liquid_handlers_one_reader(), [RunRequest.from_dict(r) for r in runs])
    schedule = optimise(problem, iterations=10)
    check_schedule(problem, schedule)
    assert schedule.makespan_s == 1200


def test_a_time_link_is_a_pause_point_the_scheduler_waits_at(run_async, plr_catalog):
    run = run_async(request("incubate_and_read.py", "assay", plr_catalog))
    timeline = run.timeline
    assert [s.label for s in timeline.segments] == ["start", "reader.read_absorbance#1"]
    (link,) = timeline.links
    assert (link.source, link.target, link.max_s) == (0, 1, 300.0)
    natural = timeline.segments[0].duration_s - link.at_s  # stop_shaking's end to the read
    read_at = timeline.segments[0].duration_s
    cells = two_liquid_handlers_one_reader()[:1]
    # The reader is taken 100 s around when the read would come: the run starts on time and
    # waits before reading (the plate sits in the closed reader) instead of starting later...
    busy = [Busy(5, NOW, NOW + timedelta(seconds=1), "x"),
            Busy(2, NOW + timedelta(seconds=read_at - 30), NOW + timedelta(seconds=read_at + 70), "service")]
    # ...but the reader's hold begins before the pause (close is before the read): so here the
    # hold itself must move; only a hold starting after the pause can be waited for.
    problem = Problem(NOW, cells, [run], stock(), busy)
    schedule = list_schedule(problem)
    check_schedule(problem, schedule)
    placement = schedule.placements[0]
    runs = [s for s in placement.segments if s.kind == "run"]
    gap = runs[1].start_s - (runs[0].start_s + link.at_s)
    assert natural - 1e-6 <= gap <= 300 + 1e-6
    # A hold too long to wait out within the link: the whole run moves later instead.
    long_busy = [Busy(2, NOW + timedelta(seconds=read_at - 30), NOW + timedelta(seconds=read_at + 1000), "service")]
    late = Problem(NOW, cells, [run], stock(), long_busy)
    moved = list_schedule(late)
    check_schedule(late, moved)
    assert moved.placements[0].start_s > 900


def test_the_scheduler_waits_when_only_the_step_after_the_pause_is_blocked():
    from browser_runtime.scheduler import RunRequest, Segment, SegmentLink, Timeline

    # 10 min on the heater-shaker, then within 15 min a 5 min read; the reader is busy 10-18 min.
    timeline = Timeline((Segment(600.0, "start"), Segment(300.0, "reader.read#1")),
                        {"hs": (0, 0.0, 0, 600.0), "reader": (1, 0.0, 1, 300.0)},
                        (SegmentLink(0, 600.0, 1, 0.0, 900.0, "read within 15 min"),))
    run = RunRequest("assay", "incubate and read", 900.0,
                     machines=(MachineNeed("hs", "heater_shaker"), MachineNeed("reader", "plate_reader")),
                     timeline=timeline)
    cells = [Workcell("Alpha", (Machine(3, "HS", "heater_shaker", HS), READER))]
    busy = [Busy(2, NOW + timedelta(minutes=10), NOW + timedelta(minutes=18), "another run")]
    problem = Problem(NOW, cells, [run], [], busy)
    for schedule in (list_schedule(problem), optimise(problem, iterations=5)):
        check_schedule(problem, schedule)
        placement = schedule.placements[0]
        assert placement.start_s == 0  # incubates at once...
        read = next(s for s in placement.segments if s.label == "reader.read#1")
        assert read.start_s == 18 * 60  # ...and waits 8 min for the reader, inside the link
    shorter = Timeline(timeline.segments, timeline.machines, (SegmentLink(0, 600.0, 1, 0.0, 300.0, "within 5 min"),))
    tight = Problem(NOW, cells, [RunRequest("assay", "p", 900.0, run.machines, timeline=shorter)], [], busy)
    placement = list_schedule(tight).placements[0]
    assert placement.start_s == 3 * 60  # cannot wait 8 min: starts 3 min later, waits 5


def test_a_protocol_that_misses_its_own_time_link_cannot_be_scheduled(run_async, plr_catalog):
    source = (FIXTURES / "incubate_and_read.py").read_text().replace("max_s=5 * 60", "max_s=5")
    with pytest.raises(RequestError, match="misses its own time link: time link missed: "
                                           r"reader.read_absorbance#1 started 21.0 s after hs.stop_shaking#1"):
        run_async(request_from_document({"id": "x", "source": source, "filename": "x.py"}, plr_catalog))


def test_the_estimate_waits_out_a_minimum(run_async, plr_catalog):
    source = (FIXTURES / "incubate_and_read.py").read_text().replace(
        'TimeLink("hs.stop_shaking", "reader.read_absorbance", max_s=5 * 60,',
        'TimeLink("hs.stop_shaking", "reader.read_absorbance", min_s=30 * 60,')
    estimate = run_async(estimate_protocol(source, plr_catalog, filename="x.py"))
    (check,) = estimate.links
    assert check.gap_s == pytest.approx(1800) and check.waited_s == pytest.approx(1800 - 21.0)
    plain = run_async(estimate_protocol((FIXTURES / "incubate_and_read.py").read_text(), plr_catalog,
                                        filename="x.py"))
    assert estimate.duration_s == pytest.approx(plain.duration_s + 1800 - 21.0)


def test_the_watch_reports_a_missed_maximum_on_real_machines(run_async, plr_catalog):
    events = []

    async def run(strict: bool):
        clock = VirtualClock()
        hs = build_simulated_machine(plr_catalog, "heater_shaker", "hs")
        reader = build_simulated_machine(plr_catalog, "plate_reader", "reader")
        for machine in (hs, reader):
            await machine.setup()
        watch = TimeLinkWatch([TimeLink("hs.stop_shaking", "reader.open", max_s=300)], now=lambda: clock.now,
                              sleep=clock.sleep, emit=lambda kind, **fields: events.append((kind, fields)),
                              strict=strict)
        undo = watch.install({"hs": hs, "reader": reader})
        try:
            await reader.open()  # no stop_shaking before it: the link does not bind this call
            await hs.stop_shaking()
            await clock.sleep(200)
            await reader.open()  # 200 s: held
            await hs.stop_shaking()
            await clock.sleep(400)
            await reader.open()  # 400 s: missed
        finally:
            undo()
        assert "open" not in vars(reader) and "stop_shaking" not in vars(hs)  # unwrapped again
        return watch

    watch = run_async(run(strict=False))
    assert [(c.before, c.missed) for c in watch.checks] == [("reader.open#2", False), ("reader.open#3", True)]
    assert events == [("time_link", {**watch.violations[0].to_dict()})]
    assert events[0][1]["gap_s"] == pytest.approx(400) and "missed" in events[0][1]["message"]
    with pytest.raises(TimeLinkError, match="time link missed: reader.open#3 started 400.0 s after"):
        run_async(run(strict=True))


def test_the_runner_is_told_the_planned_waits(book):
    from browser_runtime.scheduler import RunRequest, Segment, SegmentLink, Timeline

    timeline = Timeline((Segment(600.0), Segment(300.0, "reader.read_absorbance#1")), {},
                        (SegmentLink(0, 600.0, 1, 0.0, 900.0),))
    book.submit([RunRequest("r", "p", 900.0, load_s=60.0, timeline=timeline)])
    run = book.run("r")
    assert [s["kind"] for s in run["segments"]] == ["load", "run", "run"]
    assert planned_starts(run) == {"reader.read_absorbance#1": 600.0}
