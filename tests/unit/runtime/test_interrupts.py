"""The page's interrupt stops the user's busy code (a run, a console cell), never the worker's own."""

from __future__ import annotations

import signal
import sys

import pytest

from browser_runtime import interrupts

USER_FILE = "<a user's protocol>"
USER_CODE = compile("def busy(check):\n    check()\n", USER_FILE, "exec")
namespace: dict = {}
exec(USER_CODE, namespace)


def _interrupt_here() -> None:
    interrupts._handler(signal.SIGINT, sys._getframe())


@interrupts.runner_frame
def _runner(call) -> None:
    call()


def test_in_the_users_code_the_interrupt_is_a_keyboard_interrupt():
    with interrupts.user_code(USER_FILE), pytest.raises(KeyboardInterrupt):
        _runner(lambda: namespace["busy"](_interrupt_here))


def test_in_the_runners_or_workers_own_code_it_is_dropped():
    with interrupts.user_code(USER_FILE):
        _runner(_interrupt_here)  # the runner stopping machines: not stopped half-way
    _interrupt_here()  # the worker saving the database: not cut in half


def test_code_of_a_file_not_running_now_is_not_the_users():
    _runner(lambda: namespace["busy"](_interrupt_here))  # no user_code block: dropped


def test_runs_and_cells_are_marked():
    from browser_runtime.evaluate import run_cell
    from browser_runtime.runner.run import ProtocolRun

    assert ProtocolRun.execute.__code__ in interrupts._runner_codes
    assert run_cell.__code__ in interrupts._runner_codes
