"""LibCST visitors: find @protocol_function functions, and the machine calls and labware they use."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from typing import Any

import libcst as cst
from libcst.metadata import CodeRange

from .resolve import ImportTable, dotted_name

# Every import path of the decorator; a bare name nobody imported counts too (the page injects it).
PROTOCOL_FUNCTION_FQNS = frozenset({
    "browser_runtime.protocols.protocol_function",
    "browser_runtime.protocols.decorator.protocol_function",
    "labwright.protocol_function",
})
DATA_VIEW_FQNS = frozenset({
    "browser_runtime.protocols.DataViewDefinition",
    "browser_runtime.protocols.decorator.DataViewDefinition",
    "labwright.DataViewDefinition",
})
TIME_LINK_FQNS = frozenset({
    "browser_runtime.protocols.TimeLink",
    "browser_runtime.protocols.decorator.TimeLink",
    "labwright.TimeLink",
})
_DATA_VIEW_FIELDS = ("name", "description", "source_type", "source_filter", "schema", "required",
                     "default_value")
_TIME_LINK_FIELDS = ("after", "before", "min_s", "max_s", "description")


class NotLiteral(Exception):
    """A value the analysis must read statically is computed at run time."""

    def __init__(self, node: cst.CSTNode, what: str) -> None:
        super().__init__(what)
        self.node = node


@dataclasses.dataclass
class FoundProtocol:
    node: cst.FunctionDef
    decorator: cst.Decorator
    qualname: str
    in_class: bool


class ProtocolFunctionVisitor(cst.CSTVisitor):
    """Collects the file's imports and every function decorated with protocol_function in any form."""

    def __init__(self, positions: Mapping[cst.CSTNode, CodeRange] | None = None) -> None:
        super().__init__()
        # PositionProvider's result for the module, so positions stay readable after the visit.
        self.positions = positions or {}
        self.imports = ImportTable()
        self.found: list[FoundProtocol] = []
        #: The file's own top-level functions by name: the helpers a protocol may call.
        self.functions: dict[str, cst.FunctionDef] = {}
        self._candidates: list[tuple[cst.FunctionDef, list[cst.Decorator], str, bool]] = []
        self._scope: list[tuple[str, str]] = []  # (kind, name)

    def visit_Import(self, node: cst.Import) -> None:
        self.imports.add(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.imports.add(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self._scope:
            self.imports.local_definitions.add(node.name.value)
        self._scope.append(("class", node.name.value))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scope.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self._scope:
            self.imports.local_definitions.add(node.name.value)
            self.functions[node.name.value] = node
        qualname = ".".join([name for _, name in self._scope] + [node.name.value])
        in_class = bool(self._scope) and self._scope[-1][0] == "class"
        if node.decorators:
            self._candidates.append((node, list(node.decorators), qualname, in_class))
        self._scope.append(("def", node.name.value))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scope.pop()

    def leave_Module(self, original_node: cst.Module) -> None:
        # Decorators are judged at the end: an import may come after the function that uses it.
        for node, decorators, qualname, in_class in self._candidates:
            for decorator in decorators:
                if self.is_protocol_decorator(decorator):
                    self.found.append(FoundProtocol(node, decorator, qualname, in_class))
                    break

    def is_protocol_decorator(self, decorator: cst.Decorator) -> bool:
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            expression = expression.func
        dotted = dotted_name(expression)
        if dotted is None:
            return False
        if dotted == "protocol_function" and "protocol_function" not in self.imports.bindings:
            return True
        return self.imports.resolve(dotted) in PROTOCOL_FUNCTION_FQNS

    def is_data_view(self, node: cst.BaseExpression) -> bool:
        return self._is(node, "DataViewDefinition", DATA_VIEW_FQNS)

    def is_time_link(self, node: cst.BaseExpression) -> bool:
        return self._is(node, "TimeLink", TIME_LINK_FQNS)

    def _is(self, node: cst.BaseExpression, bare: str, fqns: frozenset[str]) -> bool:
        dotted = dotted_name(node)
        if dotted is None:
            return False
        if dotted == bare and dotted not in self.imports.bindings:
            return True
        return self.imports.resolve(dotted) in fqns

    def position(self, node: cst.CSTNode) -> tuple[int, int]:
        found = self.positions.get(node)
        if found is None:
            return 0, 0
        return found.start.line, found.start.column + 1

    def literal(self, node: cst.BaseExpression, module: cst.Module) -> Any:
        """The Python value of a literal expression; DataViewDefinition(...) and TimeLink(...)
        calls become dicts of their fields (a TimeLink's also records its line)."""
        if isinstance(node, cst.Call) and self.is_data_view(node.func):
            return self._call_fields(node, module, "DataViewDefinition", _DATA_VIEW_FIELDS)
        if isinstance(node, cst.Call) and self.is_time_link(node.func):
            fields = self._call_fields(node, module, "TimeLink", _TIME_LINK_FIELDS)
            fields["line"] = self.position(node)[0] or None
            return fields
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            values = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    raise NotLiteral(element, module.code_for_node(element).strip())
                values.append(self.literal(element.value, module))
            return tuple(values) if isinstance(node, cst.Tuple) else values
        if isinstance(node, cst.Dict):
            mapping = {}
            for element in node.elements:
                if isinstance(element, cst.StarredDictElement):
                    raise NotLiteral(element, module.code_for_node(element).strip())
                key = self.literal(element.key, module)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise NotLiteral(element.key, module.code_for_node(element.key).strip())
                mapping[key] = self.literal(element.value, module)
            return mapping
        code = module.code_for_node(node)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Multiply, cst.Add)):
            # 5 * 60 reads better than 300 in a time link: plain arithmetic of literals is fine.
            left, right = self.literal(node.left, module), self.literal(node.right, module)
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
                return left * right if isinstance(node.operator, cst.Multiply) else left + right
            raise NotLiteral(node, code.strip())
        try:
            # The node is already valid syntax; ast only evaluates it, never runs user code.
            return ast.literal_eval(code.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise NotLiteral(node, code.strip()) from None

    def _call_fields(self, node: cst.Call, module: cst.Module, what: str,
                     names: tuple[str, ...]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for index, arg in enumerate(node.args):
            if arg.star:
                raise NotLiteral(arg, f"a *args/**kwargs argument of {what}")
            if arg.keyword is not None:
                key = arg.keyword.value
            elif index < len(names):
                key = names[index]
            else:
                raise NotLiteral(arg, f"too many positional arguments to {what}")
            if key not in names:
                raise NotLiteral(arg, f"unknown {what} argument {key!r}")
            fields[key] = self.literal(arg.value, module)
        return fields


@dataclasses.dataclass(frozen=True)
class HelperCall:
    """A call of one of the file's own functions that hands it machines: ``wash(lh, plate)``."""

    function: str
    machines: tuple[tuple[int | str, str], ...]  # (position or keyword, the protocol's machine)


class ProtocolRequirementExtractor(cst.CSTVisitor):
    """Walks one function's body: methods called on each machine (a parameter, directly or through
    a local alias), labware the body creates by calling catalog factories, and calls of the file's
    own functions that are handed a machine (their bodies are walked the same way by the analysis).

    ``aliases`` maps a local name to the protocol's machine parameter it stands for: in a protocol
    its machine parameters themselves, in a helper the helper's parameters the protocol filled."""

    def __init__(self, machine_parameters: set[str] | dict[str, str], factory_resolver: Any) -> None:
        super().__init__()
        aliases = machine_parameters if isinstance(machine_parameters, dict) else {
            name: name for name in machine_parameters}
        self._aliases: dict[str, str] = dict(aliases)
        self._parameters = set(aliases)
        self.calls: dict[str, set[str]] = {machine: set() for machine in aliases.values()}
        self._factory_resolver = factory_resolver
        self.created: list[tuple[str, str | None, cst.Call]] = []  # (factory fqn, name, call)
        self.helper_calls: list[HelperCall] = []
        #: Every name the body mentions (a labware parameter never mentioned is not handled by it).
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name) and isinstance(value, cst.Name):
            if value.value in self._aliases:
                self._aliases[target.value] = self._aliases[value.value]
            elif target.value in self._aliases and target.value not in self._parameters:
                del self._aliases[target.value]  # rebinding a local alias to something else ends it
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            for t, v in zip(target.elements, value.elements):
                self._bind(t.value, v.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, node.value)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            machine = self._aliases.get(func.value.value)
            if machine is not None:
                self.calls[machine].add(func.attr.value)
                return
        if isinstance(func, cst.Name):
            handed = []
            for index, arg in enumerate(node.args):
                if arg.star or not isinstance(arg.value, cst.Name) or arg.value.value not in self._aliases:
                    continue
                where: int | str = arg.keyword.value if arg.keyword is not None else index
                handed.append((where, self._aliases[arg.value.value]))
            if handed:
                self.helper_calls.append(HelperCall(func.value, tuple(handed)))
        factory = self._factory_resolver(func)
        if factory is not None:
            self.created.append((factory, _name_argument(node), node))


def helper_aliases(helper: cst.FunctionDef, call: HelperCall) -> dict[str, str]:
    """The helper's parameter names that stand for the protocol's machines in ``call``."""
    params = [*helper.params.posonly_params, *helper.params.params]
    by_keyword = {p.name.value for p in [*params, *helper.params.kwonly_params]}
    aliases = {}
    for where, machine in call.machines:
        if isinstance(where, int):
            if where < len(params):
                aliases[params[where].name.value] = machine
        elif where in by_keyword:
            aliases[where] = machine
    return aliases


def _name_argument(call: cst.Call) -> str | None:
    for index, arg in enumerate(call.args):
        is_name = (arg.keyword is not None and arg.keyword.value == "name") or (
            arg.keyword is None and not arg.star and index == 0)
        if is_name and isinstance(arg.value, (cst.SimpleString, cst.ConcatenatedString)):
            value = arg.value.evaluated_value
            return value if isinstance(value, str) else None
    return None
