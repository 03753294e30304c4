"""What the page's `ready` promises: the modules imported and their real versions."""

from __future__ import annotations

import json
import sys

import browser_runtime
from browser_runtime import boot, worker


def test_ready_modules_are_imported_and_versions_are_real():
    versions = boot.import_ready_modules()
    for name in boot.READY_MODULES:
        assert name in sys.modules
    import libcst
    import pylabrobot

    assert versions.pylabrobot == pylabrobot.__version__ == "0.2.2"
    assert versions.libcst == "1.9.0"
    assert versions.labwright == browser_runtime.__version__
    assert versions.python == ".".join(map(str, sys.version_info[:3]))
    assert libcst.parse_module("x = 1\n").code == "x = 1\n"


def test_worker_run_python_reports_errors_as_json(run_async):
    ok = json.loads(run_async(worker.run_python("1 + 1")))
    assert ok == {"ok": True, "value": "2"}
    failed = json.loads(run_async(worker.run_python("{}['missing']")))
    assert failed["ok"] is False
    assert failed["error"]["type"] == "KeyError"
    assert "KeyError: 'missing'" in failed["error"]["traceback"]


def test_only_pyserials_platform_notice_is_dropped_from_stderr():
    import contextlib
    import io
    import sys

    from browser_runtime.boot import _without_pyserial_platform_notice

    captured = io.StringIO()
    with contextlib.redirect_stderr(captured), _without_pyserial_platform_notice():
        sys.stderr.write("don't know how to enumerate ttys on this system.\n! I you know how...\n")
        sys.stderr.write("a real warning\n")
    assert captured.getvalue() == "a real warning\n"
