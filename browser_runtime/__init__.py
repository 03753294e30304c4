"""Labwright's pure-Python runtime: runs unchanged in Pyodide (the page) and in CPython."""

from __future__ import annotations

import sys

__all__ = ["__version__", "IN_PYODIDE"]

__version__ = "0.1.0"

#: True inside Pyodide (the page's worker or Node), where there are no threads or processes.
IN_PYODIDE: bool = sys.platform == "emscripten"
