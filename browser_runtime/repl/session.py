"""ReplSession: one Python namespace, its statements' output, and completions over it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from browser_runtime.evaluate import CellError, new_namespace, run_cell

#: ``on_output(stream_name, text)`` receives stdout/stderr as the statement writes it.
OutputCallback = Callable[[str, str], None]


@dataclass
class ExecutionResult:
    """What one statement did: all it printed, the ``repr`` of its value, or the error."""

    output: str
    result: str | None
    error: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Completion:
    name: str
    complete: str
    type: str


@dataclass
class Signature:
    name: str
    params: list[str] = field(default_factory=list)
    index: int | None = None
    docstring: str = ""


class _Stream(io.TextIOBase):
    """A text stream that forwards every write and keeps a copy."""

    def __init__(self, name: str, collected: list[str], on_output: OutputCallback | None) -> None:
        self.name = name
        self._collected = collected
        self._on_output = on_output

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self._collected.append(text)
            if self._on_output is not None:
                self._on_output(self.name, text)
        return len(text)


class ReplSession:
    """A namespace that statements run in, one after another, like an interactive prompt."""

    def __init__(self, namespace: dict[str, Any] | None = None) -> None:
        self.namespace = namespace if namespace is not None else new_namespace()

    async def execute(self, code: str, on_output: OutputCallback | None = None) -> ExecutionResult:
        collected: list[str] = []
        stdout = _Stream("stdout", collected, on_output)
        stderr = _Stream("stderr", collected, on_output)
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                value = await run_cell(code, self.namespace)
        except CellError as exc:
            return ExecutionResult("".join(collected), None,
                                   {"type": exc.type, "message": exc.message, "traceback": exc.traceback})
        except KeyboardInterrupt:
            return ExecutionResult("".join(collected), None,
                                   {"type": "KeyboardInterrupt", "message": "interrupted",
                                    "traceback": "KeyboardInterrupt: interrupted\n"})
        return ExecutionResult("".join(collected), None if value == "None" else value)

    def _script(self, code: str, line: int | None, column: int | None) -> tuple[Any, int, int]:
        import jedi

        lines = code.splitlines() or [""]
        if code.endswith("\n"):
            lines.append("")
        line = len(lines) if line is None else max(1, min(line, len(lines)))
        column = len(lines[line - 1]) if column is None else max(0, min(column, len(lines[line - 1])))
        return jedi.Interpreter(code, [self.namespace]), line, column

    def complete(self, code: str, line: int | None = None, column: int | None = None,
                 limit: int = 200) -> list[Completion]:
        """Completions at (1-based ``line``, 0-based ``column``); the end of ``code`` by default."""
        script, line, column = self._script(code, line, column)
        return [Completion(c.name, c.complete or "", c.type)
                for c in script.complete(line, column)[:limit]]

    def signatures(self, code: str, line: int | None = None, column: int | None = None) -> list[Signature]:
        """Call signatures of the call the cursor is in, with the parameter it is at."""
        script, line, column = self._script(code, line, column)
        found = []
        for signature in script.get_signatures(line, column):
            try:
                docstring = signature.docstring(raw=True)
            except Exception:  # noqa: BLE001 - Jedi cannot always read a compiled object's docs
                docstring = ""
            found.append(Signature(signature.name, [p.description for p in signature.params],
                                   signature.index, docstring))
        return found


