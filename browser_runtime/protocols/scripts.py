"""Plain PLR scripts, the way PLR's docs write them: what they build, and their simulated twin.

``lh = LiquidHandler(backend=STARBackend(), deck=STARLetDeck())``, labware from factories
assigned to the deck, ``await lh.setup()``, commands, at the top level or in an ``async def
main()`` run by ``asyncio.run(main())``. The analysis finds each machine (frontend, backend,
deck, with their catalog entries), the labware and what the script asks of each machine. For
a run in simulation the same script is rewritten (LibCST) so every real backend it builds is
the PLR simulator of that machine kind, and ``asyncio.run(main())`` is awaited instead (the
page's event loop is already running); the swaps are listed, so the plan and the run say so.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .capabilities import capabilities_for
from .resolve import AnnotationResolver, dotted_name
from .visitors import ProtocolFunctionVisitor, ProtocolRequirementExtractor

__all__ = ["ScriptDefinition", "ScriptMachine", "ScriptResource", "Swap", "analyze_script", "simulated_script"]

#: The name the simulated script calls for each backend it builds (see runner/scripts.py).
SIMULATOR_HOOK = "_labwright_simulated_backend"


@dataclasses.dataclass
class ScriptMachine:
    variable: str
    frontend: str
    machine_kind: str
    backend: str | None  # the backend the script builds (fqn), None if not read statically
    simulator: bool  # that backend is already a PLR simulator / chatterbox
    deck: str | None
    line: int
    methods: list[str]
    capabilities: list[str]


@dataclasses.dataclass
class ScriptResource:
    variable: str | None
    type: str
    category: str | None
    name: str | None
    line: int


@dataclasses.dataclass
class ScriptDefinition:
    """A file without @protocol_function that builds PLR machines itself."""

    entry: str  # "top-level" (top-level await) | "main" (asyncio.run(main()) or await main())
    machines: list[ScriptMachine]
    resources: list[ScriptResource]


@dataclasses.dataclass
class Swap:
    """A real backend the simulated script builds as a simulator instead."""

    variable: str
    machine_kind: str
    backend: str
    line: int


class _Builds(cst.CSTVisitor):
    """Assignments of calls anywhere in the file: ``name = Something(...)``, with their position."""

    def __init__(self) -> None:
        super().__init__()
        self.assigned: dict[str, cst.Call] = {}
        self.top_level_await = False
        self.runs_main = False
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_Await(self, node: cst.Await) -> None:
        if self._depth == 0:
            self.top_level_await = True

    def visit_Assign(self, node: cst.Assign) -> None:
        if isinstance(node.value, cst.Call):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.assigned[target.target.value] = node.value

    def visit_Call(self, node: cst.Call) -> None:
        if dotted_name(node.func) in ("asyncio.run", "run") and node.args and isinstance(node.args[0].value, cst.Call):
            self.runs_main = True


def _keyword(call: cst.Call, name: str, position: int) -> cst.BaseExpression | None:
    for index, arg in enumerate(call.args):
        if (arg.keyword is not None and arg.keyword.value == name) or (arg.keyword is None and index == position):
            return arg.value
    return None


def analyze_script(module: cst.Module, wrapper: MetadataWrapper, visitor: ProtocolFunctionVisitor,
                   catalog: Any) -> ScriptDefinition | None:
    """The machines, labware and entry of a plain script; None if it builds no PLR machine."""
    positions = wrapper.resolve(PositionProvider)
    resolver = AnnotationResolver(visitor.imports, catalog)
    builds = _Builds()
    module.visit(builds)

    def fqn_of(node: cst.BaseExpression | None, section: str) -> str | None:
        if node is None:
            return None
        if isinstance(node, cst.Name) and node.value in builds.assigned:
            node = builds.assigned[node.value]
        if isinstance(node, cst.Call):
            node = node.func
        found = resolver.fqn(node)
        if found is None or catalog.section_of(found) != section:
            return None
        return catalog.canonical(found)

    machines = []
    for variable, call in builds.assigned.items():
        frontend = fqn_of(call.func, "machines")
        if frontend is None:
            continue
        entry = catalog.get(frontend) or {}
        backend = fqn_of(_keyword(call, "backend", 0), "backends")
        deck = fqn_of(_keyword(call, "deck", 1), "decks")
        machines.append(ScriptMachine(
            variable=variable, frontend=frontend, machine_kind=entry.get("kind") or "",
            backend=backend, simulator=bool((catalog.get(backend) or {}).get("simulator")) if backend else False,
            deck=deck, line=positions[call].start.line, methods=[], capabilities=[]))
    if not machines:
        return None

    def factory(func: cst.BaseExpression) -> str | None:
        found = resolver.fqn(func)
        if found is None or catalog.section_of(found) != "resources":
            return None
        return catalog.canonical(found)

    extractor = ProtocolRequirementExtractor({m.variable: m.variable for m in machines}, factory)
    module.visit(extractor)
    for machine in machines:
        machine.methods = sorted(extractor.calls.get(machine.variable, ()))
        machine.capabilities = capabilities_for(machine.machine_kind, extractor.calls.get(machine.variable, set()))
    variables = {id(call): name for name, call in builds.assigned.items()}
    resources = []
    for fqn, name, call in extractor.created:
        entry = catalog.get(fqn) or {}
        resources.append(ScriptResource(variables.get(id(call)), fqn, entry.get("category"), name,
                                        positions[call].start.line))
    entry_kind = "top-level" if builds.top_level_await or not builds.runs_main else "main"
    return ScriptDefinition(entry=entry_kind, machines=machines, resources=resources)


class _Simulated(cst.CSTTransformer):
    """Every real backend built becomes a call of the simulator hook; ``asyncio.run(x)`` -> ``await x``."""

    def __init__(self, backends: dict[int, tuple[str, ScriptMachine, int]], top_level: set[int]) -> None:
        super().__init__()
        self.backends = backends  # id(call) -> (backend fqn, the machine it is for, line)
        self.top_level = top_level
        self.swaps: list[Swap] = []

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        found = self.backends.get(id(original_node))
        if found is not None:
            backend, machine, _ = found
            return cst.Call(func=cst.Name(SIMULATOR_HOOK), args=[
                cst.Arg(cst.SimpleString(repr(machine.machine_kind))),
                cst.Arg(cst.SimpleString(repr(machine.variable))),
                cst.Arg(cst.SimpleString(repr(backend)))])
        if id(original_node) in self.top_level:
            return cst.Await(expression=updated_node.args[0].value)
        return updated_node


def simulated_script(source: str, filename: str, catalog: Any) -> tuple[str, list[Swap], ScriptDefinition]:
    """The script with every real backend replaced by its kind's simulator, and the swaps made."""
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    visitor = ProtocolFunctionVisitor(wrapper.resolve(PositionProvider))
    module.visit(visitor)
    script = analyze_script(module, wrapper, visitor, catalog)
    if script is None:
        raise ValueError(f"{filename} builds no PLR machine (e.g. lh = LiquidHandler(backend=..., deck=...)) "
                         "and has no @protocol_function: nothing to run")
    builds = _Builds()
    module.visit(builds)
    by_variable = {m.variable: m for m in script.machines}
    positions = wrapper.resolve(PositionProvider)
    resolver = AnnotationResolver(visitor.imports, catalog)
    backends: dict[int, tuple[str, ScriptMachine, int]] = {}
    for variable, call in builds.assigned.items():
        machine = by_variable.get(variable)
        if machine is None or machine.simulator:
            continue
        argument = _keyword(call, "backend", 0)
        if isinstance(argument, cst.Name) and argument.value in builds.assigned:
            argument = builds.assigned[argument.value]
        if isinstance(argument, cst.Call):
            fqn = resolver.fqn(argument.func)
            if fqn is not None and catalog.section_of(fqn) == "backends":
                backends[id(argument)] = (catalog.canonical(fqn), machine, positions[argument].start.line)
    top_level = {id(node.body[0].value) for node in module.body
                 if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1
                 and isinstance(node.body[0], cst.Expr) and isinstance(node.body[0].value, cst.Call)
                 and dotted_name(node.body[0].value.func) in ("asyncio.run",)}
    transformer = _Simulated(backends, top_level)
    rewritten = module.visit(transformer)
    swaps = [Swap(machine.variable, machine.machine_kind, backend, line)
             for backend, machine, line in backends.values()]
    return rewritten.code, swaps, script
