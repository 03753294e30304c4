"""analyze_source: a protocol file's text -> ProtocolFile (protocols, parameters, requirements, errors)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .capabilities import capabilities_for
from .decorator import metadata_problems, step_parameter
from .resolve import AnnotationResolver, classify
from .schema import (
    AnalysisError,
    DataView,
    MachineRequirement,
    Parameter,
    ProtocolDefinition,
    ProtocolFile,
    Requirements,
    ResourceRequirement,
    TimeLinkSpec,
)
from .visitors import (
    FoundProtocol,
    NotLiteral,
    ProtocolFunctionVisitor,
    ProtocolRequirementExtractor,
    helper_aliases,
)

_DECORATOR_FIELDS = ("name", "version", "description", "data_views", "deck_layout_path",
                     "param_metadata", "tags", "category", "time_links")
_DEFAULT_CATALOGS: dict[bool, Any] = {}
_ERROR_AT = re.compile(r"error at (\d+):(\d+)")
# Statements the page's pure-Python parser (Python 3.8 grammar) cannot read.
_NEWER_SYNTAX = ("match ", "case ", "with (", "async with (", "type ")


def default_catalog(geometry: bool = False) -> Any:
    """The installed PLR's catalog, built once per process and cached on disk by source hash.

    ``geometry=True`` (deck validation) calls factories, which needs CPython. The page passes the
    catalog it already holds; this is for the CLIs and scripts.
    """
    if geometry not in _DEFAULT_CATALOGS:
        import json

        from browser_runtime.catalog import Catalog, build_catalog

        cache: Path | None = Path.home() / ".cache" / "labwright" / "catalog"
        try:
            cache.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        except OSError:
            cache = None
        parse_cache = cache / "parse" if cache else None
        document = build_catalog(cache_dir=parse_cache, geometry=False)
        if geometry:
            stored = cache / f"catalog-{document['source_hash'][:16]}.json" if cache else None
            if stored is not None and stored.exists():
                document = json.loads(stored.read_text(encoding="utf-8"))
            else:
                document = build_catalog(cache_dir=parse_cache, geometry=True)
                if stored is not None:
                    stored.write_text(json.dumps(document), encoding="utf-8")
        _DEFAULT_CATALOGS[geometry] = Catalog(document)
    return _DEFAULT_CATALOGS[geometry]


def analyze_file(path: str | Path, catalog: Any | None = None) -> ProtocolFile:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ProtocolFile(str(path), [], [AnalysisError(None, None, f"cannot read {path}: {exc}")])
    return analyze_source(source, str(path), catalog)


def analyze_source(source: str, filename: str = "<protocol>", catalog: Any | None = None) -> ProtocolFile:
    """Statically analyse one protocol file; never raises for bad input, it reports ``errors``.

    ``catalog`` (a ``browser_runtime.catalog.Catalog``) classifies parameters; None uses
    ``default_catalog()``.
    """
    if catalog is None:
        catalog = default_catalog()
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        line, column = exc.editor_line, exc.editor_column
        # The native parser's own position is the statement start; its message has the token's.
        precise = _ERROR_AT.search(exc.message)
        if precise and int(precise.group(1)) >= line:
            line, column = int(precise.group(1)), int(precise.group(2)) + 1
        message = f"{filename}:{line}:{column}: cannot parse: {exc.message}"
        if _line(source, line).lstrip().startswith(_NEWER_SYNTAX):
            message += (" (this construct needs newer Python syntax than the page's parser reads; "
                        "the page reads Python 3.8 statement syntax)")
        return ProtocolFile(filename, [], [AnalysisError(line, column, message)])
    except RecursionError:
        return ProtocolFile(filename, [], [AnalysisError(None, None,
                                                         f"{filename}: nesting too deep to parse")])
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    visitor = ProtocolFunctionVisitor(wrapper.resolve(PositionProvider))
    module.visit(visitor)
    errors: list[AnalysisError] = []
    protocols = [_definition(found, visitor, module, catalog, errors, filename)
                 for found in visitor.found]
    script = None
    if not protocols:
        from .scripts import analyze_script

        script = analyze_script(module, wrapper, visitor, catalog)
    return ProtocolFile(filename, protocols, errors, script=script)


def _follow_helpers(extractor: ProtocolRequirementExtractor, functions: dict[str, cst.FunctionDef],
                    factory: Any) -> None:
    """What the file's own functions do with the machines a protocol hands them counts as the
    protocol's: ``await transfer(lh, ...)`` whose body aspirates makes the protocol pipette."""
    pending = list(extractor.helper_calls)
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    while pending:
        call = pending.pop()
        helper = functions.get(call.function)
        if helper is None:
            continue
        aliases = helper_aliases(helper, call)
        key = (call.function, tuple(sorted(aliases.items())))
        if not aliases or key in seen:
            continue
        seen.add(key)
        inner = ProtocolRequirementExtractor(aliases, factory)
        helper.body.visit(inner)
        for machine, methods in inner.calls.items():
            extractor.calls.setdefault(machine, set()).update(methods)
        extractor.created.extend(inner.created)
        pending.extend(inner.helper_calls)


def _line(source: str, number: int) -> str:
    lines = source.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _error(errors: list[AnalysisError], visitor: ProtocolFunctionVisitor, node: cst.CSTNode,
           message: str) -> None:
    line, column = visitor.position(node)
    errors.append(AnalysisError(line, column, message))


def _decorator_fields(found: FoundProtocol, visitor: ProtocolFunctionVisitor, module: cst.Module,
                      errors: list[AnalysisError], where: str) -> dict[str, Any]:
    call = found.decorator.decorator
    fields: dict[str, Any] = {}
    if not isinstance(call, cst.Call):
        return fields
    for index, arg in enumerate(call.args):
        if arg.star:
            _error(errors, visitor, arg, f"{where}: *args/**kwargs in @protocol_function cannot be "
                                         "read statically")
            continue
        if arg.keyword is None:
            # The decorator's first positional parameter is the function itself (bare use).
            _error(errors, visitor, arg, f"{where}: @protocol_function takes keyword arguments only")
            continue
        key = arg.keyword.value
        if key not in _DECORATOR_FIELDS:
            _error(errors, visitor, arg, f"{where}: unknown @protocol_function argument {key!r}")
            continue
        try:
            fields[key] = visitor.literal(arg.value, module)
        except NotLiteral as exc:
            _error(errors, visitor, exc.node, f"{where}: {key} must be a literal to be read "
                                              f"statically, got {exc}")
    return fields


def _parameters(node: cst.FunctionDef, in_class: bool) -> list[cst.Param]:
    params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
    return params[1:] if in_class and params else params  # self / cls


def _definition(found: FoundProtocol, visitor: ProtocolFunctionVisitor, module: cst.Module,
                catalog: Any, errors: list[AnalysisError], filename: str) -> ProtocolDefinition:
    node = found.node
    where = f"{filename}: protocol {found.qualname}"
    fields = _decorator_fields(found, visitor, module, errors, where)
    params = _parameters(node, found.in_class)
    raw_links = fields.get("time_links")
    lines = [link.get("line") if isinstance(link, dict) else None
             for link in raw_links] if isinstance(raw_links, (list, tuple)) else []
    for field, message in metadata_problems(fields, [p.name.value for p in params]):
        line = _link_line(field, lines)
        if line is not None:
            errors.append(AnalysisError(line, None, f"{where}: {field} {message}"))
        else:
            _error(errors, visitor, found.decorator, f"{where}: {field} {message}")

    resolver = AnnotationResolver(visitor.imports, catalog)
    parameters: list[Parameter] = []
    for param in params:
        annotation = param.annotation.annotation if param.annotation is not None else None
        resolved = resolver.resolve(annotation) if annotation is not None else None
        classified = classify(resolved.fqn if resolved else None, catalog)
        default, default_source = None, None
        if param.default is not None:
            default_source = module.code_for_node(param.default).strip()
            try:
                default = visitor.literal(param.default, module)
            except NotLiteral:
                default = None
        optional = bool(resolved and resolved.optional) or (
            param.default is not None and default_source == "None")
        parameters.append(Parameter(
            name=param.name.value,
            annotation=module.code_for_node(annotation).strip() if annotation is not None else None,
            type=classified.type, kind=classified.kind, machine_kind=classified.machine_kind,
            category=classified.category, default=default, has_default=param.default is not None,
            default_source=default_source, optional=optional,
            multiple=bool(resolved and resolved.multiple)))

    def factory(func: cst.BaseExpression) -> str | None:
        fqn = resolver.fqn(func)
        if fqn is None or catalog.section_of(fqn) != "resources":
            return None
        return catalog.canonical(fqn)

    machines = {p.name for p in parameters if p.kind == "machine"}
    extractor = ProtocolRequirementExtractor(machines, factory)
    node.body.visit(extractor)
    _follow_helpers(extractor, visitor.functions, factory)
    requirements = Requirements(
        machines=[MachineRequirement(
            parameter=p.name, machine_kind=p.machine_kind or "", type=p.type or "",
            capabilities=capabilities_for(p.machine_kind, extractor.calls[p.name]),
            methods=sorted(extractor.calls[p.name])) for p in parameters if p.kind == "machine"],
        resources=[ResourceRequirement(parameter=p.name, category=p.category, type=p.type or "",
                                       multiple=p.multiple, handled=p.name in extractor.names)
                   for p in parameters if p.kind == "resource"])
    for fqn, name, call in extractor.created:
        entry = catalog.get(fqn) or {}
        requirements.resources.append(ResourceRequirement(
            parameter=None, category=entry.get("category"), type=fqn, name=name,
            line=visitor.position(call)[0]))

    time_links = _time_links(fields.get("time_links"), parameters, extractor.calls, errors, where,
                             lines)
    views = fields.get("data_views") or []
    data_views = [DataView(**{k: v for k, v in view.items()}) for view in views
                  if isinstance(view, dict) and isinstance(view.get("name"), str)]
    docstring = node.get_docstring()
    line, column = visitor.position(node)
    tags = fields.get("tags") or []
    return ProtocolDefinition(
        function=found.qualname,
        name=fields.get("name") if isinstance(fields.get("name"), str) else node.name.value,
        version=fields.get("version") if isinstance(fields.get("version"), str) else "0.1.0",
        description=fields.get("description") if isinstance(fields.get("description"), str)
        else docstring,
        parameters=parameters, requirements=requirements, data_views=data_views,
        deck_layout_path=fields.get("deck_layout_path") if isinstance(
            fields.get("deck_layout_path"), str) else None,
        tags=list(tags) if isinstance(tags, (list, tuple)) else [],
        category=fields.get("category") if isinstance(fields.get("category"), str) else None,
        param_metadata=fields.get("param_metadata") if isinstance(
            fields.get("param_metadata"), dict) else {},
        is_async=node.asynchronous is not None, line=line, column=column, time_links=time_links)


def _link_line(field: str, lines: list[int | None]) -> int | None:
    """The line of the TimeLink a ``time_links[i]...`` problem is about."""
    match = re.match(r"time_links\[(\d+)\]", field)
    if match is None or int(match.group(1)) >= len(lines):
        return None
    return lines[int(match.group(1))]


def _time_links(raw: Any, parameters: list[Parameter], calls: dict[str, set[str]],
                errors: list[AnalysisError], where: str, lines: list[int | None]) -> list[TimeLinkSpec]:
    """The declared time links whose steps are calls this protocol makes on a machine parameter
    (each problem is already reported by ``metadata_problems`` or here, with its line)."""
    from .decorator import time_link_problems

    if not isinstance(raw, (list, tuple)):
        return []
    kinds = {p.name: p.kind for p in parameters}
    links = []
    for index, link in enumerate(raw):
        if not isinstance(link, dict) or time_link_problems(link):
            continue
        bad = False
        for key in ("after", "before"):
            parameter, method = step_parameter(link[key])
            if parameter not in kinds:
                bad = True  # metadata_problems said so
            elif kinds[parameter] != "machine":
                errors.append(AnalysisError(lines[index], None, f"{where}: time_links[{index}].{key} "
                                            f"{link[key]!r}: {parameter!r} is not a machine parameter"))
                bad = True
            elif method not in calls.get(parameter, ()):
                called = ", ".join(sorted(calls.get(parameter, ()))) or "nothing"
                errors.append(AnalysisError(lines[index], None, f"{where}: time_links[{index}].{key} "
                                            f"{link[key]!r}: the protocol never calls {parameter}.{method} "
                                            f"(it calls {called} on {parameter})"))
                bad = True
        if not bad:
            links.append(TimeLinkSpec(link["after"], link["before"], float(link.get("min_s") or 0.0),
                                      None if link.get("max_s") is None else float(link["max_s"]),
                                      link.get("description") or "", lines[index]))
    return links
