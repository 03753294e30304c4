"""A 500-line protocol analyses in well under a second (CPython native and the page's pure parser)."""

from __future__ import annotations

import sys
import time

from browser_runtime.protocols import analyze_source
from tests.fixtures.long_protocol import long_protocol_source


def test_500_line_protocol_analyses_quickly(catalog):
    source = long_protocol_source(500)
    analyze_source(source, "warmup.py", catalog)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = analyze_source(source, "long.py", catalog)
        timings.append(time.perf_counter() - started)
    assert result.errors == []
    assert len(result.protocols) == source.count("@protocol_function(")
    assert all(p.requirements.machines[0].capabilities == ["gripper", "pipetting", "tip_handling"]
               for p in result.protocols)
    median = sorted(timings)[1]
    # Parsed by the bench script: interpreter, lines and median seconds.
    print(f"\nBENCH analysis {sys.platform} lines={source.count(chr(10))} median_s={median:.4f}")
    assert median < 2.0
