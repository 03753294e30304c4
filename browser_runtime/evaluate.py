"""Run a block of Python like a notebook cell: the value of the last expression comes back.

Used by the page's ``runPython`` (in the worker) and by tests on CPython; top-level
``await`` is allowed, since PLR is async all the way down.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import linecache
import sys
import traceback
from dataclasses import dataclass
from types import CodeType, TracebackType
from typing import Any

from browser_runtime.interrupts import runner_frame, user_code

from browser_runtime.errors import LabwrightError

_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_cell_numbers = itertools.count(1)


@dataclass
class CellError(LabwrightError):
    """A cell raised: ``type`` is the Python exception's name, ``traceback`` its text."""

    type: str
    message: str
    traceback: str

    def __str__(self) -> str:
        return self.traceback


def _register_source(source: str) -> str:
    # Tracebacks then quote the cell's lines, as they do for a file.
    filename = f"<cell-{next(_cell_numbers)}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    return filename


def _compile_cell(source: str) -> tuple[CodeType | None, CodeType | None, str]:
    filename = _register_source(source)
    tree = ast.parse(source, filename=filename, mode="exec")
    last: ast.Expression | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(body=tree.body.pop().value)  # type: ignore[attr-defined]
    body = compile(tree, filename, "exec", flags=_FLAGS) if tree.body else None
    value = compile(last, filename, "eval", flags=_FLAGS) if last is not None else None
    return body, value, filename


async def _run(code: CodeType, namespace: dict[str, Any]) -> Any:
    result = eval(code, namespace)
    if inspect.isawaitable(result):
        result = await result
    return result


def _user_frames_only(tb: TracebackType | None) -> TracebackType | None:
    # Drop this module's own frames so the traceback starts at the user's cell.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return tb


def _as_cell_error(exc: BaseException) -> CellError:
    if isinstance(exc, SyntaxError):
        text = "".join(traceback.format_exception_only(type(exc), exc))
    else:
        tb = _user_frames_only(exc.__traceback__)
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    return CellError(type=type(exc).__name__, message=str(exc), traceback=text)


@runner_frame
async def run_cell(source: str, namespace: dict[str, Any]) -> str:
    """Run ``source`` in ``namespace``; return ``repr`` of its last expression (or ``'None'``).

    Any exception, including a syntax error, is raised as :class:`CellError` carrying the
    formatted traceback of the user's code.
    """
    try:
        body, value, filename = _compile_cell(source)
        with user_code(filename):  # the page's interrupt may stop this cell's code only
            if body is not None:
                await _run(body, namespace)
            result = await _run(value, namespace) if value is not None else None
        return repr(result)
    except Exception as exc:  # noqa: BLE001 - every user error goes back as text
        raise _as_cell_error(exc) from None
    finally:
        sys.stdout.flush()


def new_namespace() -> dict[str, Any]:
    return {"__name__": "__main__", "__builtins__": __builtins__}
