"""A backend's constructor parameters, read from PLR's source with LibCST (nothing imported).

Device profiles and connect requests are checked against these before anything is built.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from bridge_server.errors import ApiError


@dataclass(frozen=True)
class Parameter:
    name: str
    required: bool
    annotation: str | None


@dataclass
class ConstructorSignature:
    parameters: list[Parameter] = field(default_factory=list)
    #: ``**kwargs`` that is not passed on to a base we could read: any name goes.
    open_keywords: bool = False

    @property
    def names(self) -> set[str]:
        return {p.name for p in self.parameters}


class _InitFinder(cst.CSTVisitor):
    """Finds ``class <name>``'s ``__init__`` at module level: its parameters and whether it has one."""

    def __init__(self, class_name: str) -> None:
        self.class_name = class_name
        self.found_class = False
        self.init: cst.FunctionDef | None = None
        self._depth = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        if self._depth == 0 and node.name.value == self.class_name:
            self.found_class = True
            for statement in node.body.body:
                if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
                    self.init = statement
        self._depth += 1
        return False

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._depth -= 1


def _module_file(module: str, roots: list[Path]) -> Path | None:
    parts = module.split(".")
    for root in roots:
        base = root.parent.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@functools.lru_cache(maxsize=512)
def _read_init(path: Path, class_name: str) -> tuple[bool, cst.FunctionDef | None]:
    finder = _InitFinder(class_name)
    cst.parse_module(path.read_bytes()).visit(finder)
    return finder.found_class, finder.init


def _annotation(param: cst.Param) -> str | None:
    if param.annotation is None:
        return None
    return cst.Module([]).code_for_node(param.annotation.annotation).strip("'\"")


def constructor_signature(fqn: str, bases: dict[str, list[str]], roots: list[Path],
                          _seen: frozenset[str] = frozenset()) -> ConstructorSignature:
    """Parameters of ``fqn.__init__`` (without ``self``), following ``**kwargs`` into bases.

    ``bases`` maps catalog fqns to their base fqns; classes outside it are read from source.
    """
    module, _, name = fqn.rpartition(".")
    path = _module_file(module, roots)
    if path is None or fqn in _seen:
        return ConstructorSignature(open_keywords=True)
    found, init = _read_init(path, name)
    if not found:
        return ConstructorSignature(open_keywords=True)
    class_bases = bases.get(fqn)
    if init is None:
        # Inherited: the first base that defines one decides (abstract bases take nothing).
        for base in class_bases or []:
            return constructor_signature(base, bases, roots, _seen | {fqn})
        return ConstructorSignature()
    signature = ConstructorSignature()
    params = init.params
    positional = [*params.posonly_params, *params.params][1:]  # drop self
    for param in [*positional, *params.kwonly_params]:
        signature.parameters.append(
            Parameter(param.name.value, param.default is None, _annotation(param)))
    if isinstance(params.star_kwarg, cst.Param):
        inherited = ConstructorSignature(open_keywords=True)
        for base in class_bases or []:
            inherited = constructor_signature(base, bases, roots, _seen | {fqn})
            break
        known = signature.names
        signature.parameters += [
            Parameter(p.name, False, p.annotation) for p in inherited.parameters if p.name not in known]
        signature.open_keywords = inherited.open_keywords or not class_bases
    return signature


_SIMPLE = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}


def _accepts(annotation: str | None, value: Any) -> bool:
    if annotation is None or value is None and "Optional" in annotation:
        return True
    simple = annotation.removeprefix("Optional[").removesuffix("]").strip()
    kinds = _SIMPLE.get(simple)
    if kinds is None:
        return True  # a richer type: the backend itself will say
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def check_config(backend: str, signature: ConstructorSignature, config: dict[str, Any],
                 implied: set[str] = frozenset(), where: str = "config") -> None:
    """422 naming every unknown, missing or mistyped constructor argument of ``backend``."""
    errors: list[dict[str, str]] = []
    by_name = {p.name: p for p in signature.parameters}
    unknown = sorted(k for k in config if k not in by_name) if not signature.open_keywords else []
    for key in unknown:
        errors.append({"loc": f"{where}.{key}", "message": f"unknown field: {backend} takes no {key!r}"})
    for param in signature.parameters:
        if param.required and param.name not in config and param.name not in implied:
            errors.append({"loc": f"{where}.{param.name}", "message": "is required by the backend"})
        elif param.name in config and not _accepts(param.annotation, config[param.name]):
            errors.append({"loc": f"{where}.{param.name}",
                           "message": f"must be {param.annotation}"})
    if errors:
        detail = "; ".join(f"{e['loc']} {e['message']}" for e in errors)
        if unknown:
            detail = f"unknown field(s): {', '.join(f'{where}.{k}' for k in unknown)}. " + detail
        raise ApiError(422, detail, kind="validation", errors=errors,
                       unknown_fields=[f"{where}.{k}" for k in unknown],
                       parameters=[{"name": p.name, "required": p.required,
                                    "annotation": p.annotation} for p in signature.parameters])
