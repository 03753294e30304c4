"""The page API calls a JS module makes: ``x.call("area.function", {argument: value, ...})``.

A tiny JS tokenizer (strings, template literals, comments, regular expression literals, numbers,
identifiers, punctuators) is enough to find each call and read the keys of its argument object:
``key: value``, shorthand ``key``, quoted ``"key": value`` and ``...helper(...)`` spreads of a
function declared in the same file whose body returns an object literal. Anything else as the
arguments (a variable, a computed key) is reported, so every call stays checkable.
"""

from __future__ import annotations

import dataclasses
import re

# After one of these a "/" starts a regular expression literal, not a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {"return", "typeof", "case", "do", "else", "in", "of", "=>", "??", "&&", "||"}
_PUNCTUATORS = ("...", "?.", "??", "=>", "&&", "||", "===", "!==", "==", "!=", "<=", ">=")
_NAME = re.compile(r"[A-Za-z_$][\w$]*")
_NUMBER = re.compile(r"\d[\w.]*|\.\d[\w]*")
_API_NAME = re.compile(r"^[a-z_]+\.[a-z_]+$")


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # "name", "string", "template", "number", "regex", "punct"
    value: str
    line: int


class JsSyntaxError(ValueError):
    pass


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, line, n = 0, 1, len(source)

    def previous() -> str | None:
        return tokens[-1].value if tokens and tokens[-1].kind in ("punct", "name") else (None if not tokens else "")

    while i < n:
        ch = source[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            if end < 0:
                raise JsSyntaxError(f"line {line}: unterminated comment")
            line += source.count("\n", i, end)
            i = end + 2
        elif ch in "'\"":
            j = i + 1
            while j < n and source[j] != ch:
                if source[j] == "\n":
                    raise JsSyntaxError(f"line {line}: unterminated string")
                j += 2 if source[j] == "\\" else 1
            tokens.append(Token("string", _unescape(source[i + 1:j]), line))
            i = j + 1
        elif ch == "`":
            j, depth = i + 1, 0
            while j < n and not (source[j] == "`" and depth == 0):
                if source[j] == "\\":
                    j += 1
                elif source.startswith("${", j):
                    depth += 1
                    j += 1
                elif source[j] == "}" and depth:
                    depth -= 1
                j += 1
            tokens.append(Token("template", source[i + 1:j], line))
            line += source.count("\n", i, j)
            i = j + 1
        elif ch == "/" and (previous() is None or previous() in _REGEX_AFTER):
            j, in_class = i + 1, False
            while j < n and (source[j] != "/" or in_class):
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                elif source[j] == "\n":
                    raise JsSyntaxError(f"line {line}: unterminated regular expression")
                j += 1
            j += 1
            while j < n and source[j].isalpha():
                j += 1
            tokens.append(Token("regex", source[i:j], line))
            i = j
        elif match := _NAME.match(source, i):
            tokens.append(Token("name", match.group(), line))
            i = match.end()
        elif match := _NUMBER.match(source, i):
            tokens.append(Token("number", match.group(), line))
            i = match.end()
        else:
            punct = next((p for p in _PUNCTUATORS if source.startswith(p, i)), ch)
            tokens.append(Token("punct", punct, line))
            i += len(punct)
    return tokens


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@dataclasses.dataclass
class Call:
    """One page API call: its name, the argument names it passes, where, and what is unreadable."""

    name: str
    line: int
    arguments: set[str] = dataclasses.field(default_factory=set)
    problem: str | None = None


_OPEN = {"(": ")", "[": "]", "{": "}"}


def _matching(tokens: list[Token], start: int) -> int:
    """Index of the bracket closing the one at ``start``."""
    stack = []
    for index in range(start, len(tokens)):
        value = tokens[index].value if tokens[index].kind == "punct" else None
        if value in _OPEN:
            stack.append(_OPEN[value])
        elif value in (")", "]", "}"):
            if not stack or stack.pop() != value:
                raise JsSyntaxError(f"line {tokens[index].line}: unbalanced {value}")
            if not stack:
                return index
    raise JsSyntaxError(f"line {tokens[start].line}: {tokens[start].value} is never closed")


def _entries(tokens: list[Token], opening: int) -> list[list[Token]]:
    """The top-level comma-separated entries of the object literal opening at ``opening``."""
    closing = _matching(tokens, opening)
    entries, current, index = [], [], opening + 1
    while index < closing:
        token = tokens[index]
        if token.kind == "punct" and token.value in _OPEN:
            end = _matching(tokens, index)
            current.extend(tokens[index:end + 1])
            index = end + 1
            continue
        if token.kind == "punct" and token.value == ",":
            entries.append(current)
            current = []
        else:
            current.append(token)
        index += 1
    if current:
        entries.append(current)
    return entries


def _returned_object(tokens: list[Token], function: str) -> int | None:
    """Index of the ``{`` of the object literal that ``function <name>(...) {...}`` returns."""
    for index in range(len(tokens) - 2):
        if tokens[index].value == "function" and tokens[index + 1].value == function and tokens[index + 2].value == "(":
            body = _matching(tokens, index + 2) + 1
            if tokens[body].value != "{":
                return None
            end = _matching(tokens, body)
            depth = 0
            for inner in range(body + 1, end):
                value = tokens[inner].value if tokens[inner].kind == "punct" else None
                if value in _OPEN:
                    depth += 1
                elif value in (")", "]", "}"):
                    depth -= 1
                elif depth == 0 and tokens[inner].kind == "name" and tokens[inner].value == "return":
                    return inner + 1 if tokens[inner + 1].value == "{" else None
    return None


def _object_keys(tokens: list[Token], opening: int, seen: frozenset[str] = frozenset()) -> tuple[set[str], str | None]:
    keys: set[str] = set()
    for entry in _entries(tokens, opening):
        first = entry[0]
        if first.kind == "punct" and first.value == "...":
            if len(entry) >= 3 and entry[1].kind == "name" and entry[2].value == "(" and entry[1].value not in seen:
                returned = _returned_object(tokens, entry[1].value)
                if returned is None:
                    return keys, f"...{entry[1].value}(): no function of that name returning an object literal"
                spread, problem = _object_keys(tokens, returned, seen | {entry[1].value})
                keys |= spread
                if problem:
                    return keys, problem
                continue
            return keys, f"spread of {' '.join(t.value for t in entry[1:3])}…: only ...helper() of this file is readable"
        if first.kind in ("name", "string") and (len(entry) == 1 or entry[1].value == ":"):
            keys.add(first.value)
            continue
        return keys, f"an argument entry starting with {first.value!r} is not `key: value` or `key`"
    return keys, None


def page_api_calls(source: str) -> list[Call]:
    """Every ``.call("area.function", ...)`` in ``source`` with the argument names it passes."""
    tokens = tokenize(source)
    calls = []
    for index in range(len(tokens) - 3):
        dot, name, paren, first = tokens[index:index + 4]
        if not (dot.value == "." and name.value == "call" and paren.value == "(" and first.kind == "string"
                and _API_NAME.match(first.value)):
            continue
        call = Call(first.value, first.line)
        after = tokens[index + 4]
        if after.value == ",":
            arguments = tokens[index + 5]
            if arguments.value == "{":
                call.arguments, call.problem = _object_keys(tokens, index + 5)
            else:
                call.problem = (f"the arguments are {arguments.value!r}, not an object literal naming the "
                                "Python parameters")
        elif after.value != ")":
            call.problem = f"unexpected {after.value!r} after the API name"
        calls.append(call)
    return calls
