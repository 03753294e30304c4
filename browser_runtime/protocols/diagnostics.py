"""Diagnostics while a protocol is written: every problem at its line and column, before it runs.

Four kinds, one shape: Python's own syntax errors (the interpreter that will run the file, top-level
``await`` allowed as in the page's console), pyflakes (undefined names, unused imports...), PLR
names that do not exist (``from pylabrobot.resources import Cos_96_EZWash``, with the names PLR
does have that come closest), and what the static analysis and the planner find (a decorator
argument that cannot be read, a parameter the plan cannot resolve), placed at that parameter.
"""

from __future__ import annotations

import ast
import difflib
import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Diagnostic", "diagnose"]

_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
# pyflakes messages that are mistakes, not style: shown as errors.
_ERRORS = {"UndefinedName", "UndefinedLocal", "UndefinedExport", "DuplicateArgument", "ImportStarUsed",
           "ReturnOutsideFunction", "BreakOutsideLoop", "ContinueOutsideLoop", "TwoStarredExpressions",
           "FutureFeatureNotDefined", "LateFutureImport"}


@dataclass(frozen=True)
class Diagnostic:
    """One problem; lines are 1-based, columns 0-based, the end exclusive (what an editor marks)."""

    line: int
    column: int
    end_line: int
    end_column: int
    severity: str  # error | warning | info
    source: str  # syntax | pyflakes | plr | analysis | plan
    message: str
    code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _syntax(source: str, filename: str) -> tuple[ast.Module | None, list[Diagnostic]]:
    try:
        return compile(source, filename, "exec", flags=_FLAGS, dont_inherit=True), []
    except SyntaxError as error:
        line = error.lineno or 1
        column = max((error.offset or 1) - 1, 0)
        end_line = error.end_lineno or line
        end_column = max((error.end_offset or error.offset or 1) - 1, column + 1)
        if end_line < line:
            end_line, end_column = line, column + 1
        return None, [Diagnostic(line, column, end_line, end_column, "error", "syntax",
                                 f"{error.msg}", "syntax-error")]
    except ValueError as error:  # e.g. a null byte in the source
        return None, [Diagnostic(1, 0, 1, 1, "error", "syntax", str(error), "syntax-error")]


class _TopLevelAwaits(ast.NodeTransformer):
    """``await x`` outside any function becomes ``x``: pyflakes stops at a top-level await (it is
    not Python in a file), but the page's console and scripts allow it, and what it awaits must
    still be checked."""

    def visit_FunctionDef(self, node: ast.AST) -> ast.AST:
        return node

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Await(self, node: ast.Await) -> ast.AST:
        return self.visit(node.value)


def _pyflakes(tree: ast.Module, source: str, filename: str) -> list[Diagnostic]:
    import copy

    from pyflakes.checker import Checker

    lines = source.splitlines()
    found = []
    checked = _TopLevelAwaits().visit(copy.deepcopy(tree))
    for message in Checker(checked, filename=filename).messages:
        kind = type(message).__name__
        line, column = message.lineno, message.col
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if kind == "YieldOutsideFunction" and text[column:].lstrip().startswith(("await", "async")):
            continue  # top-level await: the page runs scripts with it
        name = message.message_args[0] if message.message_args and isinstance(message.message_args[0], str) else ""
        width = len(name.split(".")[-1]) if kind in ("UndefinedName", "UndefinedLocal") and name else 0
        if kind == "UnusedImport":
            # Underline the name as imported (``import a.b as c`` -> c, ``from m import n`` -> n).
            short = name.split(" as ")[-1].split(".")[-1]
            at = text.find(short, column)
            column, width = (at, len(short)) if at >= 0 else (column, len(text) - column)
        end_column = column + max(width, 1) if width else max(len(text), column + 1)
        found.append(Diagnostic(line, column, line, end_column, "error" if kind in _ERRORS else "warning",
                                "pyflakes", message.message % message.message_args, _kebab(kind)))
    return found


def _plr_names(tree: ast.Module, catalog: Any) -> list[Diagnostic]:
    """Imports of PyLabRobot names that PyLabRobot does not have."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and (node.module == "pylabrobot" or node.module.startswith("pylabrobot.")):
            try:
                module = importlib.import_module(node.module)
            except ImportError:
                found.append(_missing_module(node, node.module))
                continue
            except Exception:  # noqa: BLE001 - PLR's own import failing is not the user's mistake
                continue
            for alias in node.names:
                if alias.name == "*" or hasattr(module, alias.name):
                    continue
                try:
                    importlib.import_module(f"{node.module}.{alias.name}")  # a submodule
                    continue
                except ImportError:
                    pass
                known = [name for name in dir(module) if not name.startswith("_")]
                if catalog is not None:
                    known += [entry["name"] for section in ("machines", "backends", "resources", "decks")
                              for entry in catalog.entries(section)]
                close = difflib.get_close_matches(alias.name, set(known), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                found.append(Diagnostic(alias.lineno, alias.col_offset, alias.end_lineno or alias.lineno,
                                        alias.end_col_offset or alias.col_offset + len(alias.name),
                                        "error", "plr", f"{node.module} has no {alias.name!r}{hint}",
                                        "unknown-plr-name"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "pylabrobot" or alias.name.startswith("pylabrobot."):
                    try:
                        importlib.import_module(alias.name)
                    except ImportError:
                        found.append(_missing_module(alias, alias.name))
                    except Exception:  # noqa: BLE001
                        pass
    return found


def _missing_module(node: ast.AST, name: str) -> Diagnostic:
    line = getattr(node, "lineno", 1)
    column = getattr(node, "col_offset", 0)
    return Diagnostic(line, column, getattr(node, "end_lineno", line) or line,
                      getattr(node, "end_col_offset", column + 1) or column + 1, "error", "plr",
                      f"PyLabRobot {_installed()} has no module {name}", "unknown-plr-module")


def _installed() -> str:
    import pylabrobot

    return getattr(pylabrobot, "__version__", "")


def _parameter_positions(tree: ast.Module, function: str) -> dict[str, ast.arg]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function.split(".")[-1]:
            args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            return {arg.arg: arg for arg in args}
    return {}


def _analysis(tree: ast.Module, analysis: Any, plan: Callable[[str], Any] | None) -> list[Diagnostic]:
    found = []
    for error in analysis.errors:
        line = error.line or 1
        column = max((error.column or 1) - 1, 0)
        found.append(Diagnostic(line, column, line, column + 1, "error", "analysis", error.message, "analysis"))
    if plan is None:
        return found
    from browser_runtime.runner.plans import PlanError

    for protocol in analysis.protocols:
        try:
            plan(protocol.function)
        except PlanError as error:
            positions = _parameter_positions(tree, protocol.function)
            placed = False
            for problem in error.problems:
                arg = positions.get(problem.get("parameter") or "")
                if arg is None:
                    continue
                placed = True
                found.append(Diagnostic(arg.lineno, arg.col_offset, arg.end_lineno or arg.lineno,
                                        arg.end_col_offset or arg.col_offset + len(arg.arg), "warning", "plan",
                                        f"{protocol.function}: {problem['parameter']}: {problem['message']}",
                                        "plan"))
            if not placed:
                found.append(Diagnostic(protocol.line or 1, max((protocol.column or 1) - 1, 0), protocol.line or 1,
                                        max((protocol.column or 1), 1), "warning", "plan",
                                        f"{protocol.function} cannot be planned: {error}", "plan"))
    return found


def diagnose(source: str, filename: str, catalog: Any, *, analysis: Any = None,
             plan: Callable[[str], Any] | None = None) -> list[Diagnostic]:
    """Every problem of ``source``, in line order. ``plan(function)`` plans that protocol (the
    planner with the page's inventory; raises ``PlanError``); without it, plans are not tried."""
    tree, found = _syntax(source, filename)
    if tree is None:
        return found
    found += _pyflakes(tree, source, filename)
    found += _plr_names(tree, catalog)
    if analysis is None:
        from browser_runtime.protocols import analyze_source

        analysis = analyze_source(source, filename, catalog)
    found += _analysis(tree, analysis, plan)
    return sorted(found, key=lambda d: (d.line, d.column, d.source))
