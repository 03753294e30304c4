"""Scheduler benchmark: 200 run requests on 5 workcells with 20 machines, list-scheduling
heuristic (the baseline, measured in the same run) against the annealing optimiser.

Requests come from the four demo protocols: machine needs from their LibCST analysis,
durations from the discrete-event simulation (one estimate per protocol and parameter set),
labware from a shared pool (some requests name one particular plate, which makes them
contend), random priorities, earliest starts and deadlines from a seeded generator.

Run: .venv/bin/python tests/bench/bench_scheduler.py [--requests 200] [--iterations 400] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from browser_runtime.catalog import Catalog  # noqa: E402
from browser_runtime.protocols import analyze_source  # noqa: E402
from browser_runtime.scheduler import (  # noqa: E402
    ConsumableNeed,
    Labware,
    Machine,
    Problem,
    RunRequest,
    Workcell,
    estimate_protocol,
    list_schedule,
    needs_from_analysis,
    optimise,
)
from browser_runtime.scheduler.placement import Calendar  # noqa: E402

ORIGIN = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
DEMOS = ROOT / "web" / "protocols"
LH_FULL = {"head96", "gripper", "pipetting", "tip_handling"}
LH_ARM = {"gripper", "pipetting", "tip_handling"}
LH_BASIC = {"pipetting", "tip_handling"}
READER_ALL = {"absorbance", "fluorescence", "luminescence", "door"}
READER_ABS = {"absorbance", "door"}
HS = {"shaking", "temperature", "plate_lock"}

#: (workcell, [(kind, capabilities)]): 20 machines; only some workcells have a 96-head or a reader.
WORKCELLS = [
    ("Alpha", [("liquid_handler", LH_FULL), ("plate_reader", READER_ALL), ("heater_shaker", HS),
               ("liquid_handler", LH_BASIC)]),
    ("Bravo", [("liquid_handler", LH_ARM), ("plate_reader", READER_ABS), ("heater_shaker", HS),
               ("heater_shaker", HS)]),
    ("Charlie", [("liquid_handler", LH_FULL), ("liquid_handler", LH_BASIC), ("heater_shaker", HS),
                 ("scale", {"weighing"})]),
    ("Delta", [("liquid_handler", LH_BASIC), ("liquid_handler", LH_BASIC), ("heater_shaker", HS),
               ("heater_shaker", HS)]),
    ("Echo", [("liquid_handler", LH_FULL), ("heater_shaker", HS), ("plate_reader", READER_ABS),
              ("scale", {"weighing"})]),
]
VARIANTS = {
    "serial_dilution.py": [{"volume": 50.0, "columns": 6}, {"volume": 100.0, "columns": 12},
                           {"volume": 20.0, "columns": 4}],
    "elisa_read.py": [{}],
    "stamp_96.py": [{"volume": 25.0}, {"volume": 150.0}],
    "incubation.py": [{"seconds": 600.0}, {"seconds": 1800.0, "temperature": 60.0},
                      {"seconds": 3600.0}],
}
LABWARE = [("plate", "plate", 24), ("tips", "tip_rack", 16), ("trough", "trough", 6)]


def estimates(catalog: Catalog) -> dict[tuple[str, int], tuple[str, float, tuple, tuple]]:
    """(demo, variant) -> (protocol name, DES duration, machine needs, consumable needs)."""
    found = {}

    async def run_all() -> None:
        for demo, variants in VARIANTS.items():
            source = (DEMOS / demo).read_text()
            protocol = analyze_source(source, demo, catalog).protocols[0]
            machines, consumables = needs_from_analysis(protocol)
            for index, parameters in enumerate(variants):
                estimate = await estimate_protocol(source, catalog, filename=demo, parameters=parameters)
                assert estimate.status == "completed", estimate.error
                found[(demo, index)] = (protocol.name, estimate.duration_s, machines, consumables)

    asyncio.run(run_all())
    return found


def bench_problem(catalog_estimates: dict, requests: int, seed: int) -> Problem:
    rng = random.Random(seed)
    workcells, next_id = [], 1
    for name, machines in WORKCELLS:
        members = []
        for kind, capabilities in machines:
            members.append(Machine(next_id, f"{name} {kind} {next_id}", kind, frozenset(capabilities)))
            next_id += 1
        workcells.append(Workcell(name, tuple(members)))
    labware = []
    for prefix, category, count in LABWARE:
        for index in range(count):
            labware.append(Labware(next_id, f"{prefix} {index + 1}", None, category))
            next_id += 1
    plates = [item.id for item in labware if item.category == "plate"]
    keys = sorted(catalog_estimates)
    run_requests = []
    for number in range(requests):
        demo, variant = keys[rng.randrange(len(keys))]
        name, duration, machines, consumables = catalog_estimates[(demo, variant)]
        if consumables and rng.random() < 0.25:
            # This run must use one particular plate (its samples are in it).
            first = next((c for c in consumables if c.category == "plate"), None)
            if first is not None:
                consumables = tuple(ConsumableNeed(c.parameter, asset_id=rng.choice(plates[:8]))
                                    if c is first else c for c in consumables)
        earliest = ORIGIN + timedelta(minutes=rng.choice([0, 0, 0, 30, 60, 120]))
        deadline = earliest + timedelta(hours=rng.uniform(3, 10)) if rng.random() < 0.3 else None
        run_requests.append(RunRequest(
            id=f"run-{number:03d}", protocol=name, duration_s=duration, machines=machines,
            consumables=consumables, priority=rng.choice([0, 0, 1, 2, 3]), earliest_start=earliest,
            deadline=deadline, filename=demo))
    return Problem(ORIGIN, workcells, run_requests, labware)


def check(problem: Problem, schedule) -> None:
    """No asset double-booked and every capability met: the benchmark reports valid schedules only."""
    calendars: dict[int, Calendar] = {}
    by_id = {r.id: r for r in problem.requests}
    machines = {m.id: m for w in problem.workcells for m in w.machines}
    for placement in schedule.placements:
        for asset in placement.asset_ids():
            calendars.setdefault(asset, Calendar()).add(placement.start_s, placement.end_s,
                                                        placement.request)
        for need in by_id[placement.request].machines:
            assert need.capabilities <= machines[placement.machines[need.parameter]].capabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    options = parser.parse_args()
    catalog = Catalog(json.loads((ROOT / "build" / "catalog" / "catalog.json").read_text()))
    started = time.perf_counter()
    found = estimates(catalog)
    des_s = time.perf_counter() - started
    print(f"DES estimates: {len(found)} protocol/parameter sets in {des_s:.2f} s "
          f"({', '.join(f'{d.removesuffix(chr(46) + chr(112) + chr(121))}[{v}]={found[(d, v)][1]:.0f}s' for d, v in sorted(found))})")
    machines = sum(len(m) for _, m in WORKCELLS)
    print(f"\n{options.requests} run requests, {len(WORKCELLS)} workcells, {machines} machines, "
          f"optimiser: {options.iterations} annealing steps\n")
    header = (f"{'seed':>4} | {'heuristic makespan':>18} | {'optimiser makespan':>18} | {'ratio opt/heur':>14} | "
              f"{'unplaced h/o':>12} | {'heuristic time':>14} | {'optimiser time':>14} | {'time ratio':>10}")
    print(header)
    print("-" * len(header))
    for seed in options.seeds:
        problem = bench_problem(found, options.requests, seed)
        heuristic = list_schedule(problem)
        optimised = optimise(problem, seed=seed, iterations=options.iterations)
        check(problem, heuristic)
        check(problem, optimised)
        print(f"{seed:>4} | {heuristic.makespan_s / 3600:>16.2f} h | {optimised.makespan_s / 3600:>16.2f} h | "
              f"{optimised.makespan_s / heuristic.makespan_s:>14.3f} | "
              f"{len(heuristic.infeasible):>5} / {len(optimised.infeasible):<4} | "
              f"{heuristic.compute_s * 1000:>11.1f} ms | {optimised.compute_s:>12.2f} s | "
              f"{optimised.compute_s / heuristic.compute_s:>9.0f}x")


if __name__ == "__main__":
    main()
