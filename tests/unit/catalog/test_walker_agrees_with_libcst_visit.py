"""The fast read-only walker gives the same answers as LibCST's own ``module.visit``."""

from __future__ import annotations

import libcst as cst

from browser_runtime.catalog.build import installed_plr_root
from browser_runtime.catalog.visitors import (
    CallCollector,
    ConstantCollector,
    ReferenceCollector,
    walk,
)


def test_walk_matches_visit_on_real_plr_modules():
    for rel in [
        "scales/mettler_toledo_backend.py",
        "plate_reading/bmg_labtech/clario_star_backend.py",
    ]:
        module = cst.parse_module((installed_plr_root() / rel).read_bytes())
        fast = [CallCollector(), ReferenceCollector(), ConstantCollector()]
        slow = [CallCollector(), ReferenceCollector(), ConstantCollector()]
        walk(module, fast)
        for visitor in slow:
            module.visit(visitor)
        assert sorted(map(repr, fast[0].calls)) == sorted(map(repr, slow[0].calls))
        assert fast[1].refs == slow[1].refs
        assert fast[2].constants == slow[2].constants
