"""Lab days for the scheduler benchmark: runs of real protocols on workcells with a shared reader.

Every run comes from a protocol the project ships (the web demos and the ``incubate_and_read``
fixture with its time link), estimated by the discrete-event simulation through
``scheduler.submission`` once per protocol and parameter set: its timeline (each machine held
from its first to its last use), the tips and reagent it draws. Durations are rounded up to
whole seconds, so the exact solver's optimum is the problem's optimum. Alpha and Bravo share
one plate reader; labware is counted (tip racks of 96, reagent troughs) and laid in for the
day (or, ``stock`` below 1, for part of it: runs are refused or refilled), with two refill
packs; two operators with shifts load the runs that need it inside the lab's hours.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from browser_runtime.scheduler import Labware, Machine, Operator, Problem, RunRequest, Workcell
from browser_runtime.scheduler.submission import request_from_document

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
LH_FULL = {"head96", "gripper", "pipetting", "tip_handling"}
LH_ARM = {"gripper", "pipetting", "tip_handling"}
LH_BASIC = {"pipetting", "tip_handling"}
READER = {"absorbance", "fluorescence", "luminescence", "door"}
HS = {"shaking", "temperature", "plate_lock"}

#: (protocol file, parameter sets, share of a day's runs, loaded by hand first)
PROTOCOLS = [
    ("web/protocols/elisa_read.py", [{}], 3, False),
    ("web/protocols/serial_dilution.py", [{"volume": 50.0, "columns": 6}, {"volume": 100.0, "columns": 12}], 3,
     False),
    ("web/protocols/stamp_96.py", [{"volume": 25.0}, {"volume": 150.0}], 2, True),
    ("web/protocols/incubation.py", [{"seconds": 600.0}, {"seconds": 1800.0, "temperature": 60.0}], 2, False),
    ("tests/fixtures/protocols/incubate_and_read.py", [{"minutes": 10.0}, {"minutes": 20.0}], 2, True),
]
LOAD_S = 60.0


def templates(catalog: Any) -> list[tuple[dict[str, Any], int, bool]]:
    """(request document without an id, weight, loaded by hand) per protocol and parameter set."""
    found = []

    async def estimate_all() -> None:
        for path, variants, weight, manual in PROTOCOLS:
            source = (ROOT / path).read_text()
            for parameters in variants:
                request = await request_from_document(
                    {"id": "template", "source": source, "filename": Path(path).name, "parameters": parameters},
                    catalog)
                document = whole_seconds(request.to_dict())
                document["source"] = None
                found.append((document, weight, manual))

    asyncio.run(estimate_all())
    return found


def whole_seconds(document: dict[str, Any]) -> dict[str, Any]:
    """Every segment's duration rounded up to a whole second (holds and links kept inside)."""
    timeline = document.get("timeline")
    if timeline is None:
        document["duration_s"] = float(math.ceil(document["duration_s"]))
        return document
    for segment in timeline["segments"]:
        segment["duration_s"] = float(math.ceil(segment["duration_s"] - 1e-9))
    for name, (first, start, last, end) in list(timeline["machines"].items()):
        timeline["machines"][name] = [first, float(math.floor(start)), last,
                                      min(float(math.ceil(end)), timeline["segments"][last]["duration_s"])]
    for link in timeline["links"]:
        link["at_s"] = min(float(math.ceil(link["at_s"])), timeline["segments"][link["source"]]["duration_s"])
    document["duration_s"] = sum(s["duration_s"] for s in timeline["segments"])
    return document


def workcells(count: int = 4) -> list[Workcell]:
    reader = Machine(2, "Reader (shared)", "plate_reader", frozenset(READER))
    cells = [
        Workcell("Alpha", (Machine(1, "Alpha STAR", "liquid_handler", frozenset(LH_FULL)), reader,
                           Machine(3, "Alpha HS", "heater_shaker", frozenset(HS)))),
        Workcell("Bravo", (Machine(4, "Bravo STAR", "liquid_handler", frozenset(LH_ARM)), reader,
                           Machine(5, "Bravo HS 1", "heater_shaker", frozenset(HS)),
                           Machine(6, "Bravo HS 2", "heater_shaker", frozenset(HS)))),
        Workcell("Charlie", (Machine(7, "Charlie STAR", "liquid_handler", frozenset(LH_FULL)),
                             Machine(8, "Charlie OT", "liquid_handler", frozenset(LH_BASIC)),
                             Machine(9, "Charlie HS", "heater_shaker", frozenset(HS)))),
        Workcell("Delta", (Machine(10, "Delta OT", "liquid_handler", frozenset(LH_BASIC)),
                           Machine(11, "Delta reader", "plate_reader", frozenset({"absorbance", "door"})),
                           Machine(12, "Delta HS", "heater_shaker", frozenset(HS)))),
    ]
    return cells[:count]


def labware(requests: list[RunRequest], rng: random.Random, stock: float = 1.0) -> list[Labware]:
    """A day's stock, as a lab would lay it in: plates for every run, tip racks of 96 (cheap
    and filter; one started) for ``stock`` of the day's tips plus one, troughs for its reagent,
    and two refill packs. Items are held for a whole run, so they are still contended."""
    tips = stock * sum(c.tips for r in requests for c in r.consumables)
    volume = stock * sum(c.volume_ul for r in requests for c in r.consumables if c.category == "trough")
    items, next_id = [], 100
    for index in range(max(4, len(requests) // 2)):
        items.append(Labware(next_id, f"plate {index + 1}", None, "plate"))
        next_id += 1
    for index in range(max(2, math.ceil(tips / 96) + 1)):
        filtered = index % 2 == 0
        items.append(Labware(next_id, f"{'filter ' if filtered else ''}tips {index + 1}", None, "tip_rack",
                             tips=96 if index else rng.choice([40, 96]), cost=0.08 if filtered else 0.05,
                             cost_unit="tip"))
        next_id += 1
    for index in range(2):
        items.append(Labware(next_id, f"tip refill {index + 1}", None, "tip_rack", tips=96, cost=0.05,
                             cost_unit="tip", refill=True))
        next_id += 1
    for index in range(max(2, math.ceil(volume / 150_000.0) + 1)):
        items.append(Labware(next_id, f"trough {index + 1}", None, "trough", volume_ul=150_000.0, cost=0.002,
                             cost_unit="uL"))
        next_id += 1
    return items


def lab_day(found: list[tuple[dict[str, Any], int, bool]], runs: int, seed: int, *, cells: int = 4,
            calendars: bool = True, spread: bool = True, stock: float = 1.0) -> Problem:
    """A day's queue of ``runs`` runs: mostly there at 07:00, some later, a few with deadlines."""
    rng = random.Random(seed)
    weights = [weight for _, weight, _ in found]
    requests = []
    for number in range(runs):
        document, _, manual = rng.choices(found, weights)[0]
        document = {**document, "id": f"run-{number:03d}", "priority": rng.choice([0, 0, 0, 1, 2])}
        if manual and calendars:
            document["load_s"] = LOAD_S
            document["duration_s"] = document["duration_s"]
        if spread:
            document["earliest_start"] = (ORIGIN + timedelta(minutes=rng.choice([0, 0, 0, 0, 30, 60]))).isoformat()
        requests.append(RunRequest.from_dict(document))
    operators = lab_hours = None
    if calendars:
        day = ORIGIN.replace(hour=0)
        operators = [Operator("Ana", ((day + timedelta(hours=7), day + timedelta(hours=15)),)),
                     Operator("Ben", ((day + timedelta(hours=11), day + timedelta(hours=19)),))]
        lab_hours = [(day + timedelta(hours=7), day + timedelta(hours=21))]
    return Problem(ORIGIN, workcells(cells), requests, labware(requests, rng, stock), [], operators, [],
                   lab_hours)


def tie_trap() -> Problem:
    """Where taking the first workcell listed on a tie hurts: Alpha has the only reader; the
    liquid-handler-only runs fit either workcell, the reader runs only Alpha."""
    lh = frozenset(LH_BASIC)
    cells = [Workcell("Alpha", (Machine(1, "Alpha LH", "liquid_handler", lh),
                                Machine(2, "Alpha reader", "plate_reader", frozenset({"absorbance"})))),
             Workcell("Bravo", (Machine(3, "Bravo LH", "liquid_handler", lh),))]
    runs = []
    for index in range(4):
        runs.append(RunRequest.from_dict({"id": f"pipette-{index}", "protocol": "pipette", "duration_s": 600,
                                          "machines": [{"parameter": "lh", "kind": "liquid_handler"}]}))
    for index in range(2):
        runs.append(RunRequest.from_dict({"id": f"read-{index}", "protocol": "read", "duration_s": 900,
                                          "machines": [{"parameter": "lh", "kind": "liquid_handler"},
                                                       {"parameter": "reader", "kind": "plate_reader"}]}))
    return Problem(ORIGIN, cells, runs)


def small_instances(found: list[tuple[dict[str, Any], int, bool]]) -> list[tuple[str, Problem]]:
    """The project's small instances: lab days of 4-10 runs on 2-4 workcells (every third with
    stock for half the day's tips and reagent), and the tie trap."""
    instances = [("tie trap", tie_trap())]
    for runs, cells, seed in [(4, 2, 0), (5, 2, 1), (6, 2, 2), (6, 3, 3), (7, 2, 4), (8, 3, 5), (8, 2, 6),
                              (9, 3, 7), (10, 2, 8), (10, 3, 9), (10, 4, 10), (10, 2, 11)]:
        tight = seed % 3 == 2
        instances.append((f"{runs} runs, {cells} workcells{', short stock' if tight else ''}, seed {seed}",
                          lab_day(found, runs, seed, cells=cells, spread=seed % 3 == 0,
                                  stock=0.5 if tight else 1.0)))
    return instances
