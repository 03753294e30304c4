"""The last few analyses, by source: the editor, diagnostics, plans and runs of one file share one."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

__all__ = ["AnalysisCache"]


class AnalysisCache:
    """``analyze`` returns the stored analysis of the same text, file name and catalog."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str, int], Any] = OrderedDict()
        self.hits = 0

    def analyze(self, source: str, filename: str, catalog: Any) -> Any:
        from browser_runtime.protocols.analysis import analyze_source

        key = (filename, hashlib.sha256(source.encode()).hexdigest(), id(catalog))
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return found
        analysis = analyze_source(source, filename, catalog)
        self._entries[key] = analysis
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return analysis
