"""Names in a protocol file -> fully qualified names (through its imports) -> catalog classification."""

from __future__ import annotations

import builtins
import dataclasses
from typing import Any

import libcst as cst

_BUILTINS = frozenset(dir(builtins))
_OPTIONAL = {"typing.Optional", "typing_extensions.Optional"}
_UNION = {"typing.Union", "typing_extensions.Union"}
_ANNOTATED = {"typing.Annotated", "typing_extensions.Annotated"}
_FINAL_LIKE = {"typing.Final", "typing.ClassVar", "typing_extensions.Final"}
# Containers whose element type is what the protocol needs, several of.
_CONTAINERS = {
    "builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset",
    "typing.List", "typing.Tuple", "typing.Set", "typing.FrozenSet", "typing.Sequence",
    "typing.Iterable", "typing.Collection", "collections.abc.Sequence",
    "collections.abc.Iterable", "collections.abc.Collection",
}


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _module_name(node: cst.BaseExpression | None) -> str:
    return (dotted_name(node) or "") if node is not None else ""


class ImportTable:
    """Local names bound by a file's imports (anywhere in the file, including TYPE_CHECKING blocks)."""

    def __init__(self) -> None:
        self.bindings: dict[str, str | None] = {}  # None: bound by a relative import we cannot resolve
        self.star_modules: list[str] = []
        self.local_definitions: set[str] = set()

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _module_name(alias.name)
                if alias.asname is not None:
                    self.bindings[_module_name(alias.asname.name)] = full
                else:
                    root = full.split(".")[0]
                    self.bindings.setdefault(root, root)
            return
        relative = len(node.relative) > 0
        module = _module_name(node.module)
        if isinstance(node.names, cst.ImportStar):
            if not relative:
                self.star_modules.append(module)
            return
        for alias in node.names:
            name = _module_name(alias.name)
            local = _module_name(alias.asname.name) if alias.asname is not None else name
            self.bindings[local] = None if relative else f"{module}.{name}"

    def resolve(self, dotted: str) -> str | None:
        """The fqn a dotted name in the file refers to.

        A root bound by an import maps through it; a builtin maps to ``builtins.X``; a dotted name
        whose root is not bound at all is taken to be fully qualified already.
        """
        root, _, rest = dotted.partition(".")
        if root in self.bindings:
            target = self.bindings[root]
            if target is None:
                return None
            return f"{target}.{rest}" if rest else target
        if root in self.local_definitions:
            return None
        if not rest and root in _BUILTINS:
            return f"builtins.{root}"
        if rest:
            return dotted
        return None

    def star_candidates(self, name: str) -> list[str]:
        return [f"{module}.{name}" for module in self.star_modules]


@dataclasses.dataclass
class ResolvedType:
    fqn: str | None
    optional: bool = False
    multiple: bool = False


class AnnotationResolver:
    """Reads an annotation (written, or as a string) into the type it names."""

    def __init__(self, imports: ImportTable, catalog: Any | None) -> None:
        self.imports = imports
        self.catalog = catalog

    def fqn(self, node: cst.BaseExpression) -> str | None:
        dotted = dotted_name(node)
        if dotted is None:
            return None
        resolved = self.imports.resolve(dotted)
        if resolved is None and "." not in dotted and self.catalog is not None:
            # ``from pylabrobot.resources import *``: the name is whatever the star module exports.
            for candidate in self.imports.star_candidates(dotted):
                if self.catalog.canonical(candidate):
                    return candidate
        return resolved

    def resolve(self, node: cst.BaseExpression) -> ResolvedType:
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            text = node.evaluated_value
            if not isinstance(text, str):
                return ResolvedType(None)
            try:
                parsed = cst.parse_expression(text.strip())
            except cst.ParserSyntaxError:
                return ResolvedType(None)
            return self.resolve(parsed)
        if isinstance(node, cst.Name) and node.value == "None":
            return ResolvedType(None, optional=True)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            return self._union([node.left, node.right])
        if isinstance(node, cst.Subscript):
            base = self.fqn(node.value)
            args = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            if base in _OPTIONAL and args:
                inner = self.resolve(args[0])
                return dataclasses.replace(inner, optional=True)
            if base in _UNION:
                return self._union(args)
            if base in _ANNOTATED | _FINAL_LIKE and args:
                return self.resolve(args[0])
            if base in _CONTAINERS and args:
                inner = self.resolve(args[0])
                if inner.fqn is not None:
                    return ResolvedType(inner.fqn, optional=False, multiple=True)
            return ResolvedType(base)
        return ResolvedType(self.fqn(node))

    def _union(self, members: list[cst.BaseExpression]) -> ResolvedType:
        resolved = []
        for member in members:
            if isinstance(member, cst.BinaryOperation) and isinstance(member.operator, cst.BitOr):
                resolved.append(self._union([member.left, member.right]))
            else:
                resolved.append(self.resolve(member))
        optional = any(r.optional for r in resolved)
        typed = [r for r in resolved if r.fqn is not None]
        if not typed:
            return ResolvedType(None, optional=optional)
        # Union[PlateReader, int]: the member the lab has to provide decides the kind.
        for member in typed:
            if self.catalog is not None and self.catalog.section_of(member.fqn) in ("machines",
                                                                                   "resources"):
                return dataclasses.replace(member, optional=optional or member.optional)
        return dataclasses.replace(typed[0], optional=optional or typed[0].optional)


@dataclasses.dataclass
class Classification:
    kind: str  # machine | resource | value
    type: str | None
    machine_kind: str | None = None
    category: str | None = None


def classify(fqn: str | None, catalog: Any | None) -> Classification:
    """machine / resource / value by the catalog's sections, never by the name's spelling."""
    if fqn is None or catalog is None:
        return Classification("value", fqn)
    canonical = catalog.canonical(fqn)
    if canonical is None:
        return Classification("value", fqn)
    entry = catalog.get(canonical)
    section = catalog.section_of(canonical)
    # The catalog lists a class that is both a Resource and a Machine (PlateReader) as a machine.
    if section == "machines":
        return Classification("machine", canonical, machine_kind=entry.get("kind"))
    if section == "resources":
        return Classification("resource", canonical, category=entry.get("category"))
    if section == "decks":
        return Classification("resource", canonical, category="deck")
    return Classification("value", canonical)
