"""Scheduler benchmark: the list heuristic and the page's optimiser against OR-Tools CP-SAT, and the
page's optimiser on 200 runs inside Pyodide. Baselines are measured in the same run.

Lab days come from ``scheduler_instances.py`` (the project's protocols, estimated by the
discrete-event simulation; four workcells sharing a reader; counted stock with refills;
operators' shifts and lab hours; time links):

1. Small instances (<= 10 runs): CP-SAT proves the optimum (limit 10 s each); the heuristic's
   and the optimiser's makespans as ratios of it. Goals: all proven in <= 10 s; the
   heuristic's worst ratio <= 1.2.
2. 50-run lab days: CP-SAT for 60 s (its solution and bound) against the page's optimiser
   (default 400 steps). Goal: optimiser / CP-SAT <= 1.05. One day with short stock too.
3. 200 runs: the page's optimiser on CPython and in Pyodide under Node (the page's
   interpreter, tests/bench/pyodide_scheduler.mjs). Goal: <= 10 s in Pyodide.

A ratio compares makespans only when both place the same runs; a scheduler that refuses more
runs than the baseline is shown as such (and counts as missing the goal).

Run: .venv/bin/python tests/bench/bench_scheduler.py [--small-limit 10] [--day-limit 60]
     [--days 0 1 2] [--no-pyodide]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import scheduler_instances as instances  # noqa: E402

from browser_runtime.catalog import Catalog  # noqa: E402
from browser_runtime.scheduler import list_schedule, optimise  # noqa: E402
from browser_runtime.scheduler.exact import solve  # noqa: E402
from browser_runtime.scheduler.placement import problem_to_dict  # noqa: E402
from tests.unit.scheduler.checks import check_schedule  # noqa: E402


def ratio(schedule, baseline) -> tuple[float | None, str]:
    """(makespan ratio, text); None when the two place different runs."""
    extra = len(schedule.infeasible) - len(baseline.infeasible)
    if extra > 0:
        return None, f"refuses {extra} more"
    if extra < 0:
        return None, f"places {-extra} more"
    value = schedule.makespan_s / baseline.makespan_s if baseline.makespan_s else 1.0
    return value, f"{value:.3f}"


def small(found, limit: float) -> tuple[float, float, int, int, float]:
    print(f"\n1. Small instances: CP-SAT proves the optimum (limit {limit:g} s); ratios to it\n")
    header = (f"{'instance':<42} {'runs':>4} {'optimum':>8} {'proven':>6} {'CP-SAT s':>8} "
              f"{'heuristic':>10} {'h ms':>6} {'optimiser':>10} {'o s':>5}")
    print(header)
    print("-" * len(header))
    worst_h = worst_o = 1.0
    proven = failures = 0
    slowest = 0.0
    cases = instances.small_instances(found)
    for name, problem in cases:
        exact = solve(problem, time_limit_s=limit)
        heuristic = list_schedule(problem)
        optimised = optimise(problem)
        for schedule, resolution in ((exact, 1.0), (heuristic, 0.0), (optimised, 0.0)):
            check_schedule(problem, schedule, resolution=resolution)
        h, h_text = ratio(heuristic, exact)
        o, o_text = ratio(optimised, exact)
        worst_h = max(worst_h, h if h is not None else float("inf"))
        worst_o = max(worst_o, o if o is not None else float("inf"))
        failures += h is None
        proven += exact.proven_optimal
        slowest = max(slowest, exact.compute_s)
        print(f"{name:<42} {len(problem.requests):>4} {exact.makespan_s:>7.0f}s {str(exact.proven_optimal):>6} "
              f"{exact.compute_s:>8.2f} {h_text:>10} {heuristic.compute_s * 1000:>6.1f} {o_text:>10} "
              f"{optimised.compute_s:>5.2f}")
    print(f"\n   proven optimal: {proven} of {len(cases)}, slowest proof {slowest:.2f} s (goal <= 10 s)")
    print(f"   heuristic / optimum, worst: {worst_h:.3f} (goal <= 1.2)"
          + (f"; refuses runs the optimum places on {failures}" if failures else ""))
    print(f"   optimiser / optimum, worst: {worst_o:.3f}")
    return worst_h, worst_o, proven, len(cases), slowest


def days(found, seeds: list[int], limit: float) -> float:
    print(f"\n2. 50-run lab days: CP-SAT for {limit:g} s against the page's optimiser (400 steps)\n")
    header = (f"{'day':<24} {'CP-SAT':>8} {'bound':>8} {'gap':>6} {'optimiser':>10} {'o/CP-SAT':>9} "
              f"{'o s':>5} {'heuristic':>10} {'h/CP-SAT':>9} {'refused':>8}")
    print(header)
    print("-" * len(header))
    worst = 1.0
    cases = [(f"seed {seed}", instances.lab_day(found, 50, seed)) for seed in seeds]
    cases.append((f"seed {seeds[0]}, short stock", instances.lab_day(found, 50, seeds[0], stock=0.6)))
    for name, problem in cases:
        exact = solve(problem, time_limit_s=limit)
        optimised = optimise(problem)
        heuristic = list_schedule(problem)
        for schedule, resolution in ((exact, 1.0), (optimised, 0.0), (heuristic, 0.0)):
            check_schedule(problem, schedule, resolution=resolution)
        o, o_text = ratio(optimised, exact)
        h, h_text = ratio(heuristic, exact)
        if "short" not in name:
            worst = max(worst, o if o is not None else float("inf"))
        print(f"{name:<24} {exact.makespan_s:>7.0f}s {exact.lower_bound_s:>7.0f}s {exact.gap:>6.3f} "
              f"{optimised.makespan_s:>9.0f}s {o_text:>9} {optimised.compute_s:>5.2f} {heuristic.makespan_s:>9.0f}s "
              f"{h_text:>9} {len(exact.infeasible):>3}/{len(optimised.infeasible)}/{len(heuristic.infeasible)}")
    print(f"\n   optimiser / CP-SAT on stocked days, worst: {worst:.3f} (goal <= 1.05); refused: CP-SAT/optimiser/"
          "heuristic")
    return worst


def large(found, pyodide: bool) -> float | None:
    print("\n3. 200 runs: the page's optimiser (400 steps) on CPython and in Pyodide under Node; wall time,\n"
          "   and CPU time in brackets (what the machine's other work does not inflate)\n")
    problems = [(f"200 runs, seed {seed}", instances.lab_day(found, 200, seed)) for seed in (0, 1)]
    native = {}
    for name, problem in problems:
        heuristic = list_schedule(problem)
        cpu = time.process_time()
        optimised = optimise(problem)
        cpu = time.process_time() - cpu
        check_schedule(problem, optimised)
        native[name] = (heuristic, optimised, cpu)
    page: dict[tuple[str, str], dict] = {}
    node = shutil.which("node")
    if pyodide and node:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "problems.json"
            path.write_text(json.dumps([{"name": name, "method": method, "problem": problem_to_dict(problem)}
                                        for name, problem in problems for method in ("heuristic", "optimiser")]))
            done = subprocess.run([node, "--experimental-wasm-stack-switching",
                                   str(ROOT / "tests" / "bench" / "pyodide_scheduler.mjs"), str(path)],
                                  capture_output=True, text=True, timeout=900, cwd=ROOT)
            if done.returncode:
                raise SystemExit(done.stdout[-2000:] + done.stderr[-4000:])
            for line in done.stdout.splitlines():
                if line.startswith("{"):
                    entry = json.loads(line)
                    page[(entry["name"], entry["method"])] = entry
    header = (f"{'problem':<20} {'heuristic':>10} {'CPython ms':>10} {'optimiser':>10} {'opt/heur':>9} "
              f"{'CPython s':>14} {'Pyodide s':>14} {'Pyodide/CPython':>15}")
    print(header)
    print("-" * len(header))
    slowest = None
    for name, _ in problems:
        heuristic, optimised, cpu = native[name]
        in_page = page.get((name, "optimiser"))
        if in_page is not None:
            assert in_page["makespan_s"] == optimised.makespan_s, "the page and CPython must agree"
            slowest = max(slowest or 0.0, in_page["compute_s"])
        print(f"{name:<20} {heuristic.makespan_s:>9.0f}s {heuristic.compute_s * 1000:>10.1f} "
              f"{optimised.makespan_s:>9.0f}s {optimised.makespan_s / heuristic.makespan_s:>9.3f} "
              f"{optimised.compute_s:>6.2f} ({cpu:>5.2f}) "
              + (f"{in_page['compute_s']:>6.2f} ({in_page['cpu_s']:>5.2f}) {in_page['cpu_s'] / cpu:>15.2f}"
                 if in_page else f"{'-':>14} {'-':>15}"))
    if slowest is not None:
        print(f"\n   slowest in Pyodide: {slowest:.2f} s wall (goal <= 10 s); same schedules as CPython; the "
              "ratio is of CPU times")
    else:
        print("\n   Pyodide not run (--no-pyodide, or no node)")
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-limit", type=float, default=10.0)
    parser.add_argument("--day-limit", type=float, default=60.0)
    parser.add_argument("--days", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-pyodide", action="store_true")
    options = parser.parse_args()
    catalog = Catalog(json.loads((ROOT / "build" / "catalog" / "catalog.json").read_text()))
    started = time.perf_counter()
    found = instances.templates(catalog)
    print(f"DES estimates of {len(found)} protocol/parameter sets in {time.perf_counter() - started:.2f} s: "
          + ", ".join(f"{d['protocol']} {d['duration_s']:.0f}s" for d, _, _ in found))
    worst_h, worst_o, proven, count, slowest = small(found, options.small_limit)
    worst_day = days(found, options.days, options.day_limit)
    page = large(found, not options.no_pyodide)
    print("\nSummary")
    print(f"  small instances proven optimal: {proven}/{count}, slowest {slowest:.2f} s   (goal: all, <= 10 s)")
    print(f"  list heuristic worst ratio:     {worst_h:.3f}                (goal <= 1.2)")
    print(f"  optimiser / 60 s CP-SAT, 50 runs: {worst_day:.3f}              (goal <= 1.05)")
    print(f"  optimiser, 200 runs in Pyodide: {page:.2f} s" if page is not None else
          "  optimiser, 200 runs in Pyodide: not measured")


if __name__ == "__main__":
    main()
