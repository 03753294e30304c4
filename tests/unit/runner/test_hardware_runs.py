"""The workbench never pretends a simulated run drove hardware."""

from __future__ import annotations

import pytest

from browser_runtime.runner import page_api


def test_a_hardware_run_is_refused_with_where_to_go_instead(run_async):
    with pytest.raises(NotImplementedError, match="simulation only.*Connect a device.*REPL"):
        run_async(page_api.start("async def f(): pass\n", simulate=False))
