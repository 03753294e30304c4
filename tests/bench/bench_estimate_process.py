"""What running each scheduler estimate in its own process costs: per-request latency of filling
a run request from a demo protocol's source, in process (the old way, on the event loop) vs a
fresh worker process with a warm spare (what the server does) vs a cold worker (no spare).

Run: ``.venv/bin/python -m tests.bench.bench_estimate_process [--rounds 7]``. Medians over
``rounds`` requests per demo protocol, all measured in the same run, ratios against in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from bridge_server.estimates import Estimates
from browser_runtime.catalog import Catalog
from browser_runtime.scheduler.submission import complete_from_source

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "build" / "catalog" / "catalog.json"
DEMOS = ("incubation.py", "serial_dilution.py", "elisa_read.py", "stamp_96.py")


def _document(demo: str) -> dict:
    return {"id": "bench", "source": (ROOT / "web" / "protocols" / demo).read_text(), "filename": demo}


async def _in_process(catalog: Catalog, demo: str) -> float:
    started = time.perf_counter()
    await complete_from_source(_document(demo), catalog, "requests[0]")
    return time.perf_counter() - started


async def _worker(estimates: Estimates, demo: str, warm: bool) -> float:
    if warm:
        estimates._start_spare(str(CATALOG))
        spare = estimates._spare
        assert spare is not None
        await asyncio.shield(spare)  # the spare is ready, as it is between requests on the server
    started = time.perf_counter()
    await estimates.complete(_document(demo), str(CATALOG), "requests[0]")
    elapsed = time.perf_counter() - started
    if not warm:
        await estimates.close()  # no spare left behind for the next cold round
    return elapsed


async def main(rounds: int) -> None:
    catalog = Catalog(json.loads(CATALOG.read_text()))
    await _in_process(catalog, DEMOS[0])  # imports and caches paid once, as on a running server
    print(f"{'protocol':<20} {'in process':>11} {'warm worker':>12} {'cold worker':>12}")
    for demo in DEMOS:
        base, warm, cold = [], [], []
        for _ in range(rounds):
            base.append(await _in_process(catalog, demo))
            estimates = Estimates(time_limit=60, memory_limit=2**30)
            warm.append(await _worker(estimates, demo, warm=True))
            await estimates.close()
            cold.append(await _worker(Estimates(time_limit=60, memory_limit=2**30), demo, warm=False))
        b, w, c = (statistics.median(x) for x in (base, warm, cold))
        print(f"{demo:<20} {b * 1000:>8.0f} ms {w * 1000:>6.0f} ms {w / b:>4.1f}x "
              f"{c * 1000:>6.0f} ms {c / b:>4.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    asyncio.run(main(parser.parse_args().rounds))
