"""Area ``protocols``: the LibCST analysis of a protocol file against the loaded catalog."""

from __future__ import annotations

from typing import Any

from browser_runtime.page.session import PageSession

__all__ = ["analyze"]


def analyze(session: PageSession, source: str, filename: str = "protocol.py") -> dict[str, Any]:
    """The analysis document (schema_version 1.0); syntax problems come back as ``errors``."""
    from browser_runtime.protocols import analyze_source

    return analyze_source(source, filename, session.catalog).to_dict()
