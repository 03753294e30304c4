"""Property tests: never double-booked, never expired, never overlapping holds, optimal vs brute force."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

hypothesis = pytest.importorskip("hypothesis")  # not among the wheels the Pyodide runner loads
from hypothesis import given, settings
from hypothesis import strategies as st

from browser_runtime.inventory import (
    ConsumableAssignmentService,
    ConsumableRequirement,
    InventoryStore,
    ReservationConflict,
    TimeWindow,
    max_weight_assignment,
)

from .conftest import DEEP_WELL, NOW, PLATE, TIPS_300, TIPS_1000

FQNS = [PLATE, DEEP_WELL, TIPS_300, TIPS_1000]
item_strategy = st.fixed_dictionaries({
    "fqn": st.sampled_from(FQNS),
    "expires_in_days": st.one_of(st.none(), st.integers(-5, 400)),
    "lot": st.sampled_from([None, "A", "B"]),
    "location": st.sampled_from([None, "deck/1", "fridge/2", "storage/3"]),
    "tips": st.integers(0, 96),
    "reserved": st.booleans(),
})
requirement_strategy = st.fixed_dictionaries({
    "category": st.sampled_from(["plate", "tip_rack", None]),
    "type": st.sampled_from([None, PLATE, TIPS_1000]),
    "min_well_volume_ul": st.sampled_from([0, 50, 300, 1000]),
    "tips": st.sampled_from([0, 8, 96]),
})


def _setup(catalog, items):
    store = InventoryStore(":memory:")
    window = TimeWindow(NOW + timedelta(hours=1), NOW + timedelta(hours=5))
    ids = []
    for n, item in enumerate(items):
        expires = NOW + timedelta(days=item["expires_in_days"]) if item["expires_in_days"] is not None else None
        ids.append(store.add_labware(f"item {n}", item["fqn"], expires_at=expires, lot=item["lot"],
                                     location=item["location"], remaining_tips=item["tips"]))
    reserved = [i for i, item in zip(ids, items) if item["reserved"]]
    if reserved:
        store.reserve("someone else", reserved, TimeWindow(NOW, NOW + timedelta(hours=2)))
    return store, window, ConsumableAssignmentService(store, catalog)


def _requirements(raw):
    return [ConsumableRequirement(f"r{n}", category=r["category"] if not r["type"] else None,
                                  type=r["type"], min_well_volume_ul=r["min_well_volume_ul"],
                                  tips=r["tips"] if (r["category"] == "tip_rack" or r["type"] == TIPS_1000) else 0)
            for n, r in enumerate(raw)]


@settings(max_examples=60, deadline=None)
@given(items=st.lists(item_strategy, max_size=7), raw=st.lists(requirement_strategy, min_size=1, max_size=4))
def test_assignment_is_feasible_and_optimal(catalog, items, raw):
    store, window, service = _setup(catalog, items)
    # Without the run-wide lot bonus every score is a function of (requirement, item) alone,
    # so brute force can recompute the optimum independently.
    service.weights["same_lot"] = 0.0
    requirements = _requirements(raw)
    plan = service.assign(requirements, window, now=NOW)
    chosen = plan.asset_ids()
    assert len(chosen) == len(set(chosen))  # never double-booked
    blocked = store.reserved_in(window, NOW)
    for asset_id in chosen:
        asset = store.asset(asset_id)
        assert asset.expires_at is None or asset.expires_at > window.ends_at  # never expired
        assert asset_id not in blocked  # never in an overlapping reservation
    items_by_id = {i.asset.id: i for i in service._items(window, NOW)}
    rows = []
    for requirement in requirements:
        need = service._need(requirement)
        rows.append({asset_id: service._score(need, item, None, NOW)[0]
                     for asset_id, item in items_by_id.items()
                     if not service._excluded_by(need, item, window)})
    best = (0, 0.0)
    for choice in itertools.product(*[[None, *row] for row in rows]):
        used = [c for c in choice if c is not None]
        if len(used) != len(set(used)):
            continue
        best = max(best, (len(used), sum(row[c] for row, c in zip(rows, choice) if c is not None)))
    assert len(chosen) == best[0]  # as many requirements filled as possible
    assert plan.total_score == pytest.approx(best[1], abs=1e-9)  # and the best total score


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 3, allow_nan=False)), max_size=6),
                min_size=1, max_size=5))
def test_matcher_matches_brute_force(rows):
    result = max_weight_assignment(rows)
    weight = {}
    for i, row in enumerate(rows):
        for column, w in row:
            weight[(i, column)] = max(w, weight.get((i, column), 0.0))
    used = [c for c in result if c is not None]
    assert len(used) == len(set(used))
    got = (len(used), sum(weight[(i, c)] for i, c in enumerate(result) if c is not None))
    best = (0, 0.0)
    for choice in itertools.product(*[[None] + sorted({c for c, _ in row}) for row in rows]):
        chosen = [c for c in choice if c is not None]
        if len(chosen) != len(set(chosen)):
            continue
        total = sum(weight[(i, c)] for i, c in enumerate(choice) if c is not None)
        best = max(best, (len(chosen), total))
    assert got[0] == best[0]
    assert got[1] == pytest.approx(best[1], abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 20), st.integers(1, 6)), min_size=1, max_size=15))
def test_holds_never_overlap(requests):
    store = InventoryStore(":memory:")
    assets = [store.add_labware(f"a{n}", PLATE) for n in range(4)]
    for n, (asset, start, length) in enumerate(requests):
        window = TimeWindow(NOW + timedelta(hours=start), NOW + timedelta(hours=start + length))
        try:
            store.reserve(f"run-{n}", [assets[asset]], window)
        except ReservationConflict:
            pass
        if n % 4 == 3:
            store.release(f"run-{n - 1}")
    held = [r for r in store.reservations(status="held")]
    for a, b in itertools.combinations(held, 2):
        assert not (a.asset_id == b.asset_id and a.window.overlaps(b.window))
