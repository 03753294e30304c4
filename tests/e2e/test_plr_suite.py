"""PLR in the page is PLR: its own unit tests pass in the page's worker as they do on CPython.

PLR 0.2.2's suite (the ``*_tests.py`` modules of its wheel, unchanged) runs once in each of three
interpreters (tests/plr_suite/suite.py): the shipped page in Chromium, Pyodide under Node, and
CPython. The assertions here are per PLR package: every test that does not pass somewhere is
listed in ``suite.LIMITATIONS`` with its reason, and that list is exact. Regenerate the README's
summary with ``scripts/plr_suite.py``.
"""

from __future__ import annotations

import pytest

from tests.plr_suite import suite

pytestmark = [
    pytest.mark.plr_suite,
    # The first test runs the three suites (a few minutes each, side by side).
    pytest.mark.timeout(suite.PAGE_LIMIT_S + 600),
]


@pytest.fixture(scope="module")
def reports(browser, server_url, tmp_path_factory) -> dict[str, dict]:
    return suite.run_all(browser, server_url, tmp_path_factory.mktemp("plr-suite"))


def test_the_suite_ran_in_the_page_as_users_get_it_offline(reports):
    page, node, cpython = reports["page"], reports["node"], reports["cpython"]
    assert page["boot_snapshot"] == "prebuilt"
    assert page["foreign_requests"] == []  # the Opentrons labware came from our own origin
    assert page["python"].startswith("3.14.") and node["python"] == page["python"]
    assert cpython["python"].startswith("3.11.")
    for report in (page, node, cpython):
        assert report["pylabrobot"] == "0.2.2"
        assert report["offline_labware"] == "opentrons-shared-data 8.0.0"
        assert report["pytest"] == cpython["pytest"]
        assert len(report["tests"]) > 1500


def test_every_plr_test_module_ran_in_every_interpreter(reports):
    page, node, cpython = (suite.modules(reports[env]) for env in suite.ENVIRONMENTS)
    assert page == node == cpython
    assert {test["package"] for test in reports["cpython"]["tests"]} == set(suite.plr_packages())


@pytest.mark.parametrize("environment", suite.ENVIRONMENTS)
@pytest.mark.parametrize("package", suite.plr_packages())
def test_plr_package_passes_except_what_is_listed(reports, environment, package):
    report = reports[environment]
    tests = [test for test in report["tests"] if test["package"] == package]
    assert tests, f"no test of pylabrobot.{package} ran on {environment}"
    mine = {**report, "tests": tests}
    assert suite.unexplained(mine) == []
    assert suite.stale(mine) == []
    if environment != "cpython":
        outcomes = {test["id"]: test["outcome"] for test in tests}
        lost = [
            test["id"]
            for test in reports["cpython"]["tests"]
            if test["package"] == package and test["outcome"] == "passed"
            and outcomes.get(test["id"]) != "passed" and suite.limitation_of(test["id"], environment) is None
        ]
        assert lost == [], f"pass on CPython but not on {environment}"


def test_every_listed_limitation_is_met_where_it_says(reports):
    for limitation in suite.LIMITATIONS:
        for environment in limitation.where:
            met = [t for t in reports[environment]["tests"] if limitation.covers(t["id"])]
            assert met, f"{environment}: nothing matches {limitation.tests} ({limitation.reason})"
            assert {t["outcome"] for t in met} == {limitation.outcome}, (environment, limitation.reason)
