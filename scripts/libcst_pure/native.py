"""Pure-Python stand-in for LibCST's Rust ``libcst.native`` module, for Pyodide.

PyPI has no WebAssembly build of LibCST's Rust parser, but the sdist still ships the
pure-Python parser LibCST used before the Rust one (tokenizer, pgen grammar and CST
conversions under ``libcst._parser``). ``libcst._parser.entrypoints`` only needs these
three functions from ``libcst.native``; each runs the pure parser on a decoded string.
Set-up packages this file into the LibCST wheel the page loads; CPython keeps the native
wheel.
"""

from __future__ import annotations

from typing import Any, Optional

from libcst._nodes.module import Module
from libcst._parser.detect_config import detect_config
from libcst._parser.grammar import get_grammar, validate_grammar
from libcst._parser.python_parser import PythonCSTParser
from libcst._parser.types.config import PartialParserConfig

__all__ = ["parse_module", "parse_statement", "parse_expression"]

# The pure grammar stops at Python 3.8 statement syntax: ``match`` and parenthesised
# context managers raise ParserSyntaxError (with line and column), never crash.
_PURE_GRAMMAR_VERSION = "3.8"


def _parse(
    entrypoint: str,
    source: str,
    *,
    encoding: Optional[str],
    detect_trailing_newline: bool,
    detect_default_newline: bool,
) -> Any:
    config = PartialParserConfig(
        python_version=_PURE_GRAMMAR_VERSION,
        encoding=encoding if encoding is not None else "utf-8",
    )
    detection = detect_config(
        source,
        partial=config,
        detect_trailing_newline=detect_trailing_newline,
        detect_default_newline=detect_default_newline,
    )
    validate_grammar()
    grammar = get_grammar(config.parsed_python_version, config.future_imports)
    parser = PythonCSTParser(
        tokens=detection.tokens,
        config=detection.config,
        pgen_grammar=grammar,
        start_nonterminal=entrypoint,
    )
    return parser.parse()


def parse_module(source: str, encoding: Optional[str] = None) -> Module:
    result = _parse(
        "file_input",
        source,
        encoding=encoding,
        detect_trailing_newline=True,
        detect_default_newline=True,
    )
    assert isinstance(result, Module)
    return result


def parse_statement(source: str) -> Any:
    return _parse(
        "stmt_input",
        source,
        encoding=None,
        detect_trailing_newline=True,
        detect_default_newline=False,
    )


def parse_expression(source: str) -> Any:
    return _parse(
        "expression_input",
        source,
        encoding=None,
        detect_trailing_newline=False,
        detect_default_newline=False,
    )
