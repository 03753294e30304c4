"""Boot benchmark: the page to `ready` in Chromium, cold and warm, against bare Pyodide.

    .venv/bin/python tests/bench/bench_boot.py [--runs 5]

The page normally restores the Pyodide heap snapshot set-up built (PLR already imported);
the "no prebuilt snapshot" rows withhold it, so Python initialises and imports PLR in the
page, and the reload restores the snapshot the page then saved itself.

Both pages are served by one real `labwright serve` from the same Pyodide files, and both
are measured in the same run (these machines are noisy), median of N:
- bare Pyodide: a page whose worker only runs loadPyodide (web/bench/bare.html);
- Labwright cold: a fresh browser profile (empty HTTP cache, no snapshot);
- Labwright warm: a reload of that profile (HTTP cache primed, snapshot stored: the page keeps
  set-up's snapshot unpacked in Cache Storage after its first start, or the one it made).
Times are from navigation start to `ready` in the page; stages are the worker's own marks.
After ready (per-stage costs of the way to usable, from navigation start): the archives' files
written (`files`, a warm start's restored heap does not hold the file system), the page's
database open (`data`), the workbench usable, and the catalog loaded (in the background: the
workbench does not wait for it; what needs it waits in the worker).
Targets (issue 2): cold <= 1.25x bare cold, warm <= 0.5x bare cold. Usable (issue 14: the
workbench ready, `body[data-workbench=ready]`): cold <= 1.0x, warm <= 0.5x; layout shift <= 0.1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.serving import running_server  # noqa: E402

STAGES = ["runtime", "packages", "plr", "ready"]
AFTER_READY = ["files", "data", "usable", "catalog"]
# Layout shift from navigation on (PerformanceObserver 'layout-shift', what CLS sums), installed
# before the page's own scripts run.
LAYOUT_SHIFT = """window.__shift = 0; new PerformanceObserver((list) => { for (const e of list.getEntries())
  if (!e.hadRecentInput) window.__shift += e.value; }).observe({type: "layout-shift", buffered: true});
const __catalogWatch = setInterval(() => { if (!window.labwright) return; clearInterval(__catalogWatch);
  window.labwright.catalog.loaded.then(() => { window.__catalogAt = performance.now(); }); }, 5);"""
USABLE = """() => new Promise((done) => { const check = () => document.body.dataset.workbench === "ready"
  ? done([window.labwright.usableAt, window.__shift]) : setTimeout(check, 20); check(); })"""
# The worker keeps a snapshot in Cache Storage once the page is usable; a reload restores it.
SNAPSHOT_KEPT = """() => new Promise((done) => { const check = async () => {
  const kept = await (await caches.open("labwright-snapshots")).keys();
  kept.length ? done(true) : setTimeout(check, 50); }; check(); })"""
# After usable: the worker's marks since navigation (its clock starts with the worker: shifted by
# the page's ready time less the worker's), and when the catalog was loaded.
AFTER = """() => window.labwright.catalog.loaded.then(() => { const t = window.labwright.bootTimings;
  const shift = window.labwright.readyAt - t.ready;
  return { files: (t.files ?? t.ready) + shift, data: t.data + shift, catalog: window.__catalogAt }; })"""


def measure_bare(browser, url: str) -> tuple[float, float]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "bench/bare.html")
    page.evaluate("window.bare")
    cold = page.evaluate("window.bareReadyAt")
    page.reload()
    page.evaluate("window.bare")
    warm = page.evaluate("window.bareReadyAt")
    context.close()
    return cold / 1000, warm / 1000


def measure_labwright(browser, url: str, prebuilt: bool) -> tuple[float, dict, float, dict]:
    """Cold (fresh profile) then warm (reload). Without ``prebuilt`` the set-up snapshot is
    withheld, so the cold boot initialises Python and imports PLR itself."""
    context = browser.new_context()
    if not prebuilt:
        context.route("**/wheels/snapshot/**", lambda route, request: route.fulfill(status=404))
    context.add_init_script(script=LAYOUT_SHIFT)
    page = context.new_page()
    page.goto(url)
    page.evaluate("window.labwright.ready")
    cold = page.evaluate("window.labwright.readyAt")
    cold_stages = page.evaluate("window.labwright.bootTimings")
    usable_cold, shift_cold = page.evaluate(USABLE)
    after_cold = page.evaluate(AFTER)
    assert page.evaluate("window.labwright.bootInfo.snapshot") == ("prebuilt" if prebuilt else None)
    page.evaluate("window.labwright.runPython('1')")  # waits for background work (files, snapshot)
    page.evaluate(SNAPSHOT_KEPT)
    page.reload()
    page.evaluate("window.labwright.ready")
    warm = page.evaluate("window.labwright.readyAt")
    warm_stages = page.evaluate("window.labwright.bootTimings")
    usable_warm, shift_warm = page.evaluate(USABLE)
    after_warm = page.evaluate(AFTER)
    # The reload restores this browser's own copy: of set-up's snapshot, or of the one it made.
    assert page.evaluate("window.labwright.bootInfo.snapshot") == "local"
    context.close()
    cold_stages = {**cold_stages, "usable": usable_cold, "shift": shift_cold, "after": {**after_cold, "usable": usable_cold}}
    warm_stages = {**warm_stages, "usable": usable_warm, "shift": shift_warm, "after": {**after_warm, "usable": usable_warm}}
    return cold / 1000, cold_stages, warm / 1000, warm_stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bare_cold, bare_warm, cold, warm, plain_cold, plain_warm = [], [], [], [], [], []
    cold_stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    warm_stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    usable: dict[str, list[float]] = {"cold": [], "warm": [], "shift cold": [], "shift warm": []}
    after: dict[str, dict[str, list[float]]] = {phase: {stage: [] for stage in AFTER_READY + ["ready"]}
                                                 for phase in ("cold", "warm")}
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for run in range(args.runs):
            # Interleave the two so drift on the machine hits both alike.
            b_cold, b_warm = measure_bare(browser, url)
            l_cold, l_cold_stages, l_warm, l_warm_stages = measure_labwright(browser, url, True)
            p_cold, _, p_warm, _ = measure_labwright(browser, url, False)
            plain_cold.append(p_cold)
            plain_warm.append(p_warm)
            bare_cold.append(b_cold)
            bare_warm.append(b_warm)
            cold.append(l_cold)
            warm.append(l_warm)
            for stage in STAGES:
                cold_stages[stage].append(l_cold_stages[stage] / 1000)
                warm_stages[stage].append(l_warm_stages[stage] / 1000)
            usable["cold"].append(l_cold_stages["usable"] / 1000)
            usable["warm"].append(l_warm_stages["usable"] / 1000)
            usable["shift cold"].append(l_cold_stages["shift"])
            usable["shift warm"].append(l_warm_stages["shift"])
            for phase, seconds, stages in (("cold", l_cold, l_cold_stages), ("warm", l_warm, l_warm_stages)):
                after[phase]["ready"].append(seconds)
                for stage in AFTER_READY:
                    after[phase][stage].append(stages["after"][stage] / 1000)
            print(f"run {run + 1}: bare {b_cold:.2f}/{b_warm:.2f} s, labwright {l_cold:.2f}/{l_warm:.2f} s",
                  file=sys.stderr)
        browser.close()
    median = statistics.median
    base = median(bare_cold)
    print(f"\nBoot to ready in Chromium, median of {args.runs} (seconds; ratio vs bare Pyodide cold)\n")
    print(f"{'measurement':<34}{'seconds':>9}{'ratio':>8}")
    rows = [
        ("bare Pyodide, cold", median(bare_cold)),
        ("bare Pyodide, warm (reload)", median(bare_warm)),
        ("labwright, cold", median(cold)),
        ("labwright, warm (reload)", median(warm)),
        ("  no prebuilt snapshot, cold", median(plain_cold)),
        ("  no prebuilt snapshot, warm", median(plain_warm)),
    ]
    rows += [("labwright usable (workbench), cold", median(usable["cold"])),
             ("labwright usable (workbench), warm", median(usable["warm"]))]
    for name, seconds in rows:
        print(f"{name:<34}{seconds:>9.2f}{seconds / base:>8.2f}")
    print(f"layout shift from navigation to usable: cold {median(usable['shift cold']):.3f}, "
          f"warm {median(usable['shift warm']):.3f} (goal <= 0.1)")
    print("\nlabwright stages (worker marks, cumulative seconds since the worker started)")
    print(f"{'stage':<12}{'cold':>8}{'warm':>8}")
    for stage in STAGES:
        print(f"{stage:<12}{median(cold_stages[stage]):>8.2f}{median(warm_stages[stage]):>8.2f}")
    print("\nafter ready (seconds since navigation; the step's own cost in brackets)")
    print(f"{'stage':<12}{'cold':>8}{'':>8}{'warm':>8}{'':>8}")
    for index, stage in enumerate(["ready"] + AFTER_READY):
        row = f"{stage:<12}"
        for phase in ("cold", "warm"):
            at = median(after[phase][stage])
            before = median(after[phase][(["ready"] + AFTER_READY)[index - 1]]) if index else None
            cost = f"(+{at - before:.2f})" if before is not None and stage != "catalog" else ""
            row += f"{at:>8.2f}{cost:>8}"
        print(row)
    print("(the catalog loads in the background from `data` on: usable does not wait for it)")
    cold_ratio, warm_ratio = median(cold) / base, median(warm) / base
    print(f"\ntargets: cold <= 1.25x bare: {cold_ratio:.2f}x {'met' if cold_ratio <= 1.25 else 'MISSED'}; "
          f"warm <= 0.50x bare cold: {warm_ratio:.2f}x {'met' if warm_ratio <= 0.5 else 'MISSED'}")
    usable_cold, usable_warm = median(usable["cold"]) / base, median(usable["warm"]) / base
    print(f"usable (issue 14): cold <= 1.0x bare: {usable_cold:.2f}x {'met' if usable_cold <= 1.0 else 'MISSED'}; "
          f"warm <= 0.5x: {usable_warm:.2f}x {'met' if usable_warm <= 0.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
