"""Run PLR's own unit tests in the page, in Pyodide under Node and on CPython; update the README.

    .venv/bin/python scripts/plr_suite.py [--out build/plr-suite] [--no-readme]

One after the other (so their times compare), each as the test layer runs it
(tests/plr_suite/suite.py): the shipped page in Debian's Chromium served by a real
`labwright serve`, Pyodide under Node booted like the page, the venv's CPython. Writes the three
JSON reports to --out and the summary (passed / failed / skipped per PLR package, the reason for
every test that does not pass, the page's time against CPython's) into README.md between the
plr-suite markers. The layer's assertions are tests/e2e/test_plr_suite.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.plr_suite import suite  # noqa: E402

START, END = "<!-- plr-suite:start -->", "<!-- plr-suite:end -->"


def run_one_after_another(out: Path) -> tuple[dict[str, dict], dict[str, float]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.serving import running_server

    reports: dict[str, dict] = {}
    wall: dict[str, float] = {}
    for environment, start in (("cpython", suite.start_cpython), ("node", suite.start_node)):
        started = time.perf_counter()
        target = out / f"{environment}.json"
        reports[environment] = suite.finish(start(target), target, environment)
        wall[environment] = time.perf_counter() - started
        print(f"[plr-suite] {environment}: {dict(suite.counts(reports[environment]))} in {wall[environment]:.0f} s", flush=True)
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            started = time.perf_counter()
            reports["page"] = suite.run_page(url, browser)
            wall["page"] = time.perf_counter() - started
        finally:
            browser.close()
    (out / "page.json").write_text(json.dumps(reports["page"], indent=1) + "\n")
    print(f"[plr-suite] page: {dict(suite.counts(reports['page']))} in {wall['page']:.0f} s", flush=True)
    return reports, wall


def update_readme(summary: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} section to update")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{summary}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "plr-suite")
    parser.add_argument("--no-readme", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    reports, wall = run_one_after_another(args.out)
    problems = [
        f"{env}: {problem}"
        for env, report in reports.items()
        for problem in suite.unexplained(report) + suite.stale(report)
    ]
    summary = suite.summary_markdown(reports)
    print(summary)
    if problems:
        print("not as listed in tests/plr_suite/suite.py LIMITATIONS:\n  " + "\n  ".join(problems))
        return 1
    if not args.no_readme:
        update_readme(summary)
        print("[plr-suite] README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
