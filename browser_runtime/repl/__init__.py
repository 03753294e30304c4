"""REPL sessions: statements with top-level await and captured output, Jedi completion.

The same module serves the page's worker (Pyodide) and the bridge server's per-client worker
processes (CPython); it is pure Python and starts no threads.
"""

from .session import Completion, ExecutionResult, ReplSession, Signature

__all__ = ["Completion", "ExecutionResult", "ReplSession", "Signature"]
