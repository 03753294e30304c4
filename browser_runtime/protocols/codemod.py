"""A plain PLR script made a @protocol_function: its machines and labware become the parameters.

The script's own statements stay, in order, in the new function's body; what the protocol's
caller now provides is taken out: building the machines (and their backends and decks),
``setup()``/``stop()`` (the runner does both), building the labware that became parameters,
carriers and putting things on the deck (the plan lays the deck out). The result is shown as
a diff before it replaces the script.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .resolve import AnnotationResolver, dotted_name
from .scripts import ScriptDefinition, analyze_script
from .visitors import ProtocolFunctionVisitor

__all__ = ["ProtocolFromScript", "script_to_protocol"]

# Labware categories a protocol takes as parameters, and the PLR class annotating each.
_PARAMETER_TYPES = {
    "plate": "Plate", "tip_rack": "TipRack", "trough": "Trough", "tube_rack": "TubeRack",
    "tube": "Tube", "plate_adapter": "PlateAdapter", "container": "Container", "lid": "Lid",
    "petri_dish": "PetriDish",
}


@dataclasses.dataclass
class ProtocolFromScript:
    source: str
    diff: str
    function: str
    parameters: list[dict[str, str]]  # [{name, annotation, was}]
    removed: list[int]  # lines of the script that the protocol's caller now does

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _function_name(filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    name = re.sub(r"\W+", "_", stem).strip("_").lower() or "protocol"
    return f"protocol_{name}" if name[0].isdigit() else name


class _Statements(cst.CSTVisitor):
    """The statements to run (top level, or the body of the ``main`` the script runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.main: cst.FunctionDef | None = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if node.name.value == "main" and node.asynchronous is not None:
            self.main = node
        return False


def script_to_protocol(source: str, filename: str, catalog: Any) -> ProtocolFromScript:
    """The protocol a script becomes, with the unified diff from the script to it."""
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    visitor = ProtocolFunctionVisitor(positions)
    module.visit(visitor)
    if visitor.found:
        raise ValueError(f"{filename} already has a @protocol_function")
    script: ScriptDefinition | None = analyze_script(module, wrapper, visitor, catalog)
    if script is None:
        raise ValueError(f"{filename} builds no PLR machine: there is nothing to make parameters of")

    machines = {m.variable: m for m in script.machines}
    labware = {r.variable: r for r in script.resources if r.variable and r.category in _PARAMETER_TYPES}
    carriers = {r.variable for r in script.resources if r.variable and r.variable not in labware}
    # Backends and decks built into variables of their own, for a machine to take.
    resolver = AnnotationResolver(visitor.imports, catalog)
    built_for_machines = set()
    for statement in module.body:
        for node in _assignments(statement):
            if isinstance(node.value, cst.Call):
                fqn = resolver.fqn(node.value.func)
                if fqn is not None and catalog.section_of(fqn) in ("backends", "decks"):
                    built_for_machines |= {t.target.value for t in node.targets if isinstance(t.target, cst.Name)}
    body_holder = _Statements()
    module.visit(body_holder)
    statements = list(body_holder.main.body.body) if script.entry == "main" and body_holder.main else [
        s for s in module.body if not isinstance(s, (cst.FunctionDef, cst.ClassDef))
        and not _is_import(s) and not _is_docstring(s)]
    removed: list[int] = []
    kept: list[cst.BaseStatement] = []
    for statement in statements:
        if _drop(statement, machines, labware, carriers, built_for_machines):
            removed.append(positions[statement].start.line)
        else:
            kept.append(statement)
    parameters = [{"name": v, "annotation": _annotation(m.frontend), "was": m.frontend} for v, m in machines.items()]
    parameters += [{"name": v, "annotation": _PARAMETER_TYPES[r.category or ""], "was": r.type}
                   for v, r in labware.items()]
    function = _function_name(filename)
    imports = _needed_imports(module, parameters)
    header = [statement for statement in module.body if _is_import(statement) or _is_docstring(statement)]
    helpers = [statement for statement in module.body if isinstance(statement, (cst.FunctionDef, cst.ClassDef))
               and not (body_holder.main is not None and statement is body_holder.main and script.entry == "main")]
    signature = ", ".join(f"{p['name']}: {p['annotation']}" for p in parameters)
    body = "".join(module.code_for_node(statement) for statement in kept) or "pass\n"
    indented = "".join(f"    {line}" if line.strip() else line for line in _dedent(body).splitlines(keepends=True))
    name = filename.rsplit("/", 1)[-1]
    text = "".join(module.code_for_node(statement) for statement in header)
    text += "".join(imports)
    text += "".join("\n\n" + module.code_for_node(helper).strip("\n") + "\n" for helper in helpers)
    text += (f'\n\n@protocol_function(name={_function_name(filename).replace("_", " ").capitalize()!r}, '
             f'description="Made from the plain script {name}")\n'
             f"async def {function}({signature}):\n{indented}")
    text = _without_unused_imports(text.lstrip("\n"))
    diff = "".join(difflib.unified_diff(source.splitlines(keepends=True), text.splitlines(keepends=True),
                                        fromfile=f"{name} (script)", tofile=f"{name} (protocol)"))
    return ProtocolFromScript(text, diff, function, parameters, removed)


def _assignments(statement: cst.CSTNode) -> list[cst.Assign]:
    if isinstance(statement, cst.SimpleStatementLine):
        return [small for small in statement.body if isinstance(small, cst.Assign)]
    return []


def _is_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)


def _is_docstring(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and isinstance(
        statement.body[0], cst.Expr) and isinstance(statement.body[0].value, (cst.SimpleString,
                                                                             cst.ConcatenatedString))


def _drop(statement: cst.BaseStatement, machines: dict[str, Any], labware: dict[str, Any], carriers: set[str],
          built_for_machines: set[str]) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Assign):
        targets = {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}
        subscripted = {dotted_name(t.target.value) for t in small.targets if isinstance(t.target, cst.Subscript)}
        if targets & (set(machines) | set(labware) | carriers | built_for_machines):
            return True
        if subscripted & carriers:
            return True
        return False
    if isinstance(small, cst.Expr):
        value = small.value.expression if isinstance(small.value, cst.Await) else small.value
        if isinstance(value, cst.Call):
            called = dotted_name(value.func) or ""
            owner, _, method = called.rpartition(".")
            if method in ("setup", "stop") and owner in machines:
                return True
            if method in ("assign_child_resource", "assign_child_at_slot") and (
                    owner.split(".")[0] in machines or owner.split(".")[0] in carriers or owner.endswith("deck")):
                return True
            if called in ("asyncio.run",):
                return True
    return False


def _annotation(frontend: str) -> str:
    return frontend.rpartition(".")[2]


def _needed_imports(module: cst.Module, parameters: list[dict[str, str]]) -> list[str]:
    """Imports the protocol needs that the script lacks: the decorator and the annotations."""
    have = {alias for alias in _imported_names(module)}
    lines = []
    if "protocol_function" not in have:
        lines.append("from browser_runtime.protocols import protocol_function\n")
    labware = sorted({p["annotation"] for p in parameters if p["annotation"] in _PARAMETER_TYPES.values()} - have)
    if labware:
        lines.append(f"from pylabrobot.resources import {', '.join(labware)}\n")
    for p in parameters:
        if p["annotation"] not in _PARAMETER_TYPES.values() and p["annotation"] not in have:
            module_path = p["was"].rpartition(".")[0]
            lines.append(f"from {module_path} import {p['annotation']}\n")
            have.add(p["annotation"])
    return lines


def _imported_names(module: cst.Module) -> list[str]:
    names = []
    for statement in module.body:
        if not _is_import(statement):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    names.append(alias.asname.name.value if alias.asname else dotted_name(alias.name) or "")
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    names.append((dotted_name(alias.name) or "").split(".")[0])
    return names


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


class _PruneImports(cst.CSTTransformer):
    """Drops imported names nothing else in the module uses (the script's backends, decks, carriers)."""

    def __init__(self, used: set[str]) -> None:
        super().__init__()
        self.used = used

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> Any:
        if isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        kept = [alias for alias in updated_node.names
                if (alias.asname.name.value if alias.asname else dotted_name(alias.name)) in self.used]
        if not kept:
            return cst.RemoveFromParent()
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(names=kept)


def _without_unused_imports(text: str) -> str:
    module = cst.parse_module(text)
    used: set[str] = set()

    class _Used(cst.CSTVisitor):
        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            used.add(node.value)

    module.visit(_Used())
    return module.visit(_PruneImports(used)).code
