"""Delays: a run started late or running past its estimate moves its holds, and the queue behind
it shifts; an early start is taken when its machines are free."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from browser_runtime.scheduler import ScheduleError

from .conftest import at, lh_request


def holds_overlap(book):
    """Open holds of different runs on one asset at one time (must never happen)."""
    spans = {}
    for r in book.reservations():
        if r["status"] != "released":
            spans.setdefault(r["asset_id"], []).append((r["starts_at"], r["ends_at"], r["run_id"]))
    clashes = []
    for asset, rows in spans.items():
        rows.sort()
        clashes += [(a, b) for a, b in zip(rows, rows[1:]) if b[0] < a[1] and a[2] != b[2]]
    return clashes


def queue(book):
    """Three 10 min runs on Alpha's one liquid handler: r0 08:00, r1 08:10, r2 08:20."""
    book.submit([lh_request(f"r{i}", workcell="Alpha", priority=3 - i) for i in range(3)])
    assert [book.run(f"r{i}")["starts_at"] for i in range(3)] == [at(0).isoformat(), at(10).isoformat(),
                                                                  at(20).isoformat()]
    return "r0", "r1"


def test_a_late_start_shifts_the_queue_behind(book, clock):
    ahead, behind = queue(book)
    clock.now = at(3)
    revision = book.revision
    started = book.start(ahead)
    assert started["starts_at"] == at(3).isoformat() and started["ends_at"] == at(13).isoformat()
    assert {r["starts_at"] for r in book.reservations(run_id=ahead)} == {at(3).isoformat()}
    assert [(m["run"], m["was"], m["starts_at"]) for m in started["shifted"]] == [
        ("r1", at(10).isoformat(), at(13).isoformat()), ("r2", at(20).isoformat(), at(23).isoformat())]
    assert book.run("r2")["starts_at"] == at(23).isoformat() and not holds_overlap(book)
    assert book.revision == revision + 1
    assert book.snapshot()["quality"]["method"] == "shift"


def test_an_early_start_is_taken_when_its_machines_are_free(book, clock):
    ahead, behind = queue(book)
    book.cancel(ahead, "samples not ready")
    clock.now = at(2)
    started = book.start(behind)
    assert started["starts_at"] == at(2).isoformat() and started["shifted"] == []
    assert not holds_overlap(book)
    with pytest.raises(ScheduleError, match="cannot start 'r2' now: 'STARlet \\(simulated\\)' is held by run r1"):
        book.start("r2")


def test_a_run_past_its_estimate_holds_on_and_the_queue_shifts(book, clock):
    ahead, behind = queue(book)
    book.start(ahead)
    clock.now = at(5)
    quiet = book.heartbeat(ahead)  # well inside its estimate: nothing moves
    assert quiet["extended_by_s"] == 0 and quiet["ends_at"] == at(10).isoformat()
    clock.now = at(9) + timedelta(seconds=30)  # the TTL (60 s) reaches past the planned end
    revision = book.revision
    late = book.heartbeat(ahead)
    assert late["extended_by_s"] == pytest.approx(30) and late["ends_at"] == (at(10) + timedelta(seconds=30)).isoformat()
    assert {r["ends_at"] for r in book.reservations(run_id=ahead)} == {late["ends_at"]}
    assert [(m["run"], m["was"], m["starts_at"]) for m in late["shifted"]] == [
        ("r1", at(10).isoformat(), late["ends_at"]), ("r2", at(20).isoformat(), (at(20) + timedelta(seconds=30)).isoformat())]
    assert book.revision == revision + 1 and not holds_overlap(book)
    # It keeps overrunning: each heartbeat near the end extends again, at least a TTL ahead.
    for minute in (10, 11, 12):
        clock.now = at(minute) + timedelta(seconds=10)
        run = book.heartbeat(ahead)
        assert datetime.fromisoformat(run["ends_at"]) >= clock.now + timedelta(seconds=book.heartbeat_ttl)
    assert datetime.fromisoformat(book.run(behind)["starts_at"]) >= datetime.fromisoformat(book.run(ahead)["ends_at"])
    assert not holds_overlap(book)
    book.finish(ahead)  # done: the shifted runs keep their new places until the next plan
    assert book.run(behind)["status"] == "scheduled"


def test_a_run_past_its_deadline_after_a_shift_is_sent_back_with_the_reason(book, clock):
    book.submit([lh_request("r0", workcell="Alpha"),
                 lh_request("r2", workcell="Alpha", earliest_start=at(10), deadline=at(21))])
    assert book.run("r2")["starts_at"] == at(10).isoformat()
    clock.now = at(4)
    started = book.start("r0")  # late by 4 min: r2 would end 08:24, past 08:21
    assert [(m["run"], m["starts_at"]) for m in started["shifted"]] == [("r2", None)]
    refused = book.run("r2")
    assert refused["status"] == "infeasible" and refused["reason"]["kind"] == "deadline"
    assert not book.reservations(run_id="r2", status="held")
    with pytest.raises(ScheduleError, match="'r2' is infeasible: cannot finish by its deadline"):
        book.start("r2")
