"""Protocol analysis as the page's worker offers it (LibCST in Pyodide, the loaded catalog)."""

from __future__ import annotations

from typing import Any

__all__ = ["analyze"]


def analyze(source: str, filename: str = "protocol.py") -> dict[str, Any]:
    """The analysis document (schema_version 1.0); syntax problems come back as ``errors``."""
    from browser_runtime.catalog.page_api import _catalog
    from browser_runtime.protocols import analyze_source

    return analyze_source(source, filename, _catalog()).to_dict()
