"""Area ``protocols``: the LibCST analysis of a protocol file and the editor's diagnostics."""

from __future__ import annotations

from typing import Any

from browser_runtime.page.session import PageSession
from browser_runtime.runner.plans import PlanInputs

__all__ = ["analyze", "diagnose", "to_protocol", "complete", "signatures"]


def analyze(session: PageSession, source: str, filename: str = "protocol.py") -> dict[str, Any]:
    """The analysis document (schema_version 1.0); syntax problems come back as ``errors``."""
    return session.runs.analyses.analyze(source, filename, session.catalog).to_dict()


def diagnose(session: PageSession, source: str, filename: str = "protocol.py",
             plan: bool = True) -> list[dict[str, Any]]:
    """Every problem at its line and column: syntax, pyflakes, PLR names, analysis and (``plan``)
    what planning each protocol with the page's inventory would refuse. Runs none of its code."""
    from browser_runtime.protocols.diagnostics import diagnose as find

    catalog = session.catalog
    analysis = session.runs.analyses.analyze(source, filename, catalog)

    def try_plan(function: str) -> Any:
        return session.runs.plan(PlanInputs(source=source, filename=filename, function=function), keep=False)

    return [d.to_dict() for d in find(source, filename, catalog, analysis=analysis,
                                      plan=try_plan if plan else None)]


def to_protocol(session: PageSession, source: str, filename: str = "script.py") -> dict[str, Any]:
    """A plain PLR script as a @protocol_function (its machines and labware as parameters):
    ``{source, diff, function, parameters, removed}``, for the page to show before applying."""
    from browser_runtime.protocols.codemod import script_to_protocol

    return script_to_protocol(source, filename, session.catalog).to_dict()


def complete(session: PageSession, source: str, line: int, column: int, limit: int = 60) -> list[dict[str, Any]]:
    """Jedi's completions at (1-based ``line``, 0-based ``column``) of a protocol file being edited
    (static: the file's own imports and definitions; nothing of it runs)."""
    import dataclasses

    return [dataclasses.asdict(c) for c in session.editor.complete(source, line, column, limit=limit)]


def signatures(session: PageSession, source: str, line: int, column: int) -> list[dict[str, Any]]:
    """The signature of the call the cursor is in, with the parameter it is at."""
    import dataclasses

    return [dataclasses.asdict(s) for s in session.editor.signatures(source, line, column)]
