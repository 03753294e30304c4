"""PLRSourceParser: per-file LibCST facts over source roots, cached on disk by content hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable

import libcst as cst

from .visitors import (
    CallCollector,
    ConstantCollector,
    ImportCollector,
    RaiseCollector,
    ReferenceCollector,
    ReturnCollector,
    SelfAttributeCollector,
    annotation_name,
    describe,
    docstring_summary,
    dotted_name,
    walk,
)

# Bump when the shape or meaning of per-file facts changes: it invalidates every cache entry.
PARSER_VERSION = "6"


def is_test_module(path: Path) -> bool:
    """Test modules define fixtures and mock backends that are not part of the PLR world."""
    name = path.name
    return (
        name == "conftest.py"
        or name.endswith("_tests.py")
        or name.endswith("_test.py")
        or name.startswith("test_")
        or "tests" in path.parts[:-1]
    )


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """One Python file of a source root, with its dotted module name and content hash."""

    root: Path
    path: Path
    module: str
    is_package: bool
    source: bytes
    sha256: str

    @property
    def relpath(self) -> str:
        return self.path.relative_to(self.root.parent).as_posix()


def discover_files(root: Path, include_tests: bool = False) -> list[SourceFile]:
    """Every ``.py`` file under a package root (``.../pylabrobot``), named by its module path."""
    root = root.resolve()
    files: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for filename in sorted(filenames):
            if not filename.endswith(".py"):
                continue
            path = Path(dirpath) / filename
            rel = path.relative_to(root.parent)
            if not include_tests and is_test_module(rel):
                continue
            parts = list(rel.with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            source = path.read_bytes()
            digest = hashlib.sha256(source).hexdigest()
            files.append(SourceFile(root, path, ".".join(parts), is_package, source, digest))
    return files


_EMPTY_MODULE = cst.Module([])


def _code(node: cst.CSTNode | None) -> str | None:
    """``node`` as source text (one line's worth of whitespace kept as written)."""
    return None if node is None else _EMPTY_MODULE.code_for_node(node).strip()


def _function_facts(node: cst.FunctionDef, module: str, is_package: bool) -> dict[str, Any]:
    """What a function or method says about itself: signature, calls, names, raises, returns."""
    params = []
    p = node.params
    groups = (
        ("posonly", p.posonly_params),
        ("positional", p.params),
        ("kwonly", p.kwonly_params),
    )
    # A constructor's parameters are what the catalog shows and checks callers against, so its
    # defaults and annotations are kept as source text too (only there: it costs a code pass).
    constructor = node.name.value == "__init__"
    for kind, group in groups:
        for param in group:
            facts = {
                "name": param.name.value,
                "kind": kind,
                "has_default": param.default is not None,
                "default": describe(param.default),
                "annotation": annotation_name(param.annotation.annotation)
                if param.annotation
                else None,
            }
            if constructor:
                facts["default_source"] = _code(param.default)
                facts["annotation_source"] = (
                    _code(param.annotation.annotation).strip("'\"") if param.annotation else None
                )
            params.append(facts)
    if isinstance(p.star_arg, cst.Param):
        params.append(
            {
                "name": p.star_arg.name.value,
                "kind": "var_positional",
                "has_default": True,
                "default": None,
                "annotation": None,
            }
        )
    if p.star_kwarg is not None:
        params.append(
            {
                "name": p.star_kwarg.name.value,
                "kind": "var_keyword",
                "has_default": True,
                "default": None,
                "annotation": None,
            }
        )
    calls, refs, attrs = CallCollector(), ReferenceCollector(), SelfAttributeCollector()
    constants, raises, returns = ConstantCollector(), RaiseCollector(), ReturnCollector()
    imports = ImportCollector(module, is_package)
    walk(node.body, [calls, refs, attrs, constants, raises, returns, imports])
    return {
        "name": node.name.value,
        "line": 0,
        "is_async": node.asynchronous is not None,
        "decorators": [
            d
            for d in (
                dotted_name(
                    dec.decorator if not isinstance(dec.decorator, cst.Call) else dec.decorator.func
                )
                for dec in node.decorators
            )
            if d
        ],
        "params": params,
        "returns": annotation_name(node.returns.annotation) if node.returns else None,
        "docstring": docstring_summary(node.body),
        "calls": calls.calls,
        "refs": sorted(refs.refs),
        "self_attrs": attrs.assigned,
        "constants": constants.constants,
        "raises": raises.raises,
        "returned_calls": returns.returned_calls,
        "imports": imports.bindings,
    }


def _class_facts(node: cst.ClassDef, module: str, is_package: bool) -> dict[str, Any]:
    # A generic base (`ItemizedResource[TipSpot]`) is still that class.
    bases = [
        dotted_name(arg.value.value if isinstance(arg.value, cst.Subscript) else arg.value)
        for arg in node.bases
        if arg.keyword is None
    ]
    metaclass = None
    for arg in node.keywords:
        if arg.keyword is not None and arg.keyword.value == "metaclass":
            metaclass = dotted_name(arg.value)
    methods: dict[str, Any] = {}
    attributes: list[str] = []
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            methods[statement.name.value] = _function_facts(statement, module, is_package)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    targets = [small.target]
                attributes.extend(t.value for t in targets if isinstance(t, cst.Name))
    return {
        "name": node.name.value,
        "line": 0,
        "bases": [b for b in bases if b],
        "metaclass": metaclass,
        "decorators": [d for d in (dotted_name(dec.decorator) for dec in node.decorators) if d],
        "docstring": docstring_summary(node.body),
        "methods": methods,
        "attributes": attributes,
    }


class _ModuleLevel(cst.CSTVisitor):
    """Which classes, functions, aliases and constants does the module define at top level?"""

    def __init__(self, module: str, is_package: bool, line_of: dict[int, int]) -> None:
        self.module = module
        self.is_package = is_package
        self.classes: dict[str, Any] = {}
        self.functions: dict[str, Any] = {}
        self.aliases: dict[str, str] = {}
        self.constants: dict[str, Any] = {}
        self.all: list[str] | None = None

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.classes.setdefault(node.name.value, _class_facts(node, self.module, self.is_package))
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.functions.setdefault(
            node.name.value, _function_facts(node, self.module, self.is_package)
        )
        return False

    def visit_Assign(self, node: cst.Assign) -> bool:
        for target in node.targets:
            if not isinstance(target.target, cst.Name):
                continue
            name = target.target.value
            if name == "__all__" and isinstance(node.value, (cst.List, cst.Tuple)):
                self.all = [
                    e.value.evaluated_value
                    for e in node.value.elements
                    if isinstance(e.value, cst.SimpleString)
                ]
                continue
            value = describe(node.value)
            if value is None:
                continue
            if "ref" in value:
                self.aliases.setdefault(name, value["ref"])
            else:
                self.constants.setdefault(name, value["v"])
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        return False

    def visit_Expr(self, node: cst.Expr) -> bool:
        return False


def _line_numbers(source: str) -> dict[str, int]:
    """Line of every top-level and class-level ``def``/``class`` (cheaper than position metadata)."""
    lines: dict[str, int] = {}
    current_class = None
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        for keyword in ("class ", "def ", "async def "):
            if stripped.startswith(keyword):
                name = stripped[len(keyword) :].split("(")[0].split(":")[0].strip()
                if indent == 0:
                    lines.setdefault(name, number)
                    current_class = name if keyword == "class " else None
                elif current_class is not None:
                    lines.setdefault(f"{current_class}.{name}", number)
                break
        else:
            if indent == 0 and stripped and not stripped.startswith(("#", "@", ")")):
                current_class = None
    return lines


def parse_source(module: str, is_package: bool, relpath: str, source: bytes, sha256: str) -> dict:
    """Facts of one file as a JSON-able dict; a file that does not parse gives an ``error``."""
    facts: dict[str, Any] = {
        "parser_version": PARSER_VERSION,
        "module": module,
        "is_package": is_package,
        "path": relpath,
        "sha256": sha256,
        "error": None,
    }
    try:
        tree = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        facts["error"] = {
            "file": relpath,
            "line": exc.editor_line,
            "column": exc.editor_column,
            "message": exc.message,
        }
        return facts
    except Exception as exc:  # the pure-Python parser raises other errors for unsupported syntax
        facts["error"] = {
            "file": relpath,
            "line": 0,
            "column": 0,
            "message": f"{type(exc).__name__}: {exc}",
        }
        return facts
    imports = ImportCollector(module, is_package)
    top = _ModuleLevel(module, is_package, {})
    walk(tree, [imports, top])
    # The source text, not tree.code: regenerating code from the tree costs as much as parsing.
    lines = _line_numbers(source.decode("utf-8", "replace"))
    for name, cls in top.classes.items():
        cls["line"] = lines.get(name, 0)
        for method_name, method in cls["methods"].items():
            method["line"] = lines.get(f"{name}.{method_name}", 0)
    for name, function in top.functions.items():
        function["line"] = lines.get(name, 0)
    facts.update(
        imports=imports.bindings,
        star_imports=imports.star_imports,
        classes=top.classes,
        functions=top.functions,
        aliases=top.aliases,
        constants=top.constants,
        all=top.all,
        docstring=docstring_summary(tree),
    )
    return facts


def _parse_batch(batch: list[tuple[str, bool, str, bytes, str]]) -> list[dict]:
    return [parse_source(*item) for item in batch]


@dataclasses.dataclass
class ParseResult:
    """Facts for every module of the source roots plus what was parsed versus read from cache."""

    modules: dict[str, dict]
    errors: list[dict]
    files: list[SourceFile]
    parsed: list[str]
    cached: list[str]
    seconds: float = 0.0


class PLRSourceParser:
    """Parses source roots into per-module facts, re-parsing only files whose content changed.

    ``cache_dir`` (optional) holds one JSON file per parsed file, named by the sha256 of the content
    and the parser version, so a cache is shared safely between roots and PLR versions. ``jobs`` > 1
    uses a process pool on CPython for cold builds; Pyodide (no processes) always parses in-process.
    """

    def __init__(
        self, cache_dir: Path | None = None, jobs: int | None = None, include_tests: bool = False
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.jobs = jobs
        self.include_tests = include_tests
        # In-memory layer: a long-lived parser (the bridge server) skips even the disk read.
        self._memory: dict[str, dict] = {}

    def _cache_path(self, source_file: SourceFile) -> Path | None:
        if self.cache_dir is None:
            return None
        # Identical bytes at two module paths (empty __init__.py files) get separate entries, because
        # relative imports make the facts depend on the module name.
        sha256 = source_file.sha256
        return self.cache_dir / sha256[:2] / f"{sha256}-{source_file.module}-p{PARSER_VERSION}.json"

    def _load_cached(self, source_file: SourceFile) -> dict | None:
        key = f"{source_file.sha256}:{source_file.module}"
        facts = self._memory.get(key)
        if facts is not None:
            return facts
        path = self._cache_path(source_file)
        if path is None or not path.exists():
            return None
        try:
            facts = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a damaged cache entry is simply re-parsed
        # The same bytes may live at another module path (a copy in a lab's package): facts that depend
        # on the module name (relative imports) must match, so the key includes it.
        if (
            facts.get("module") != source_file.module
            or facts.get("parser_version") != PARSER_VERSION
        ):
            return None
        facts["path"] = source_file.relpath
        self._memory[key] = facts
        return facts

    def _store(self, source_file: SourceFile, facts: dict) -> None:
        self._memory[f"{source_file.sha256}:{source_file.module}"] = facts
        path = self._cache_path(source_file)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(facts, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file

    def parse_roots(self, roots: Iterable[Path]) -> ParseResult:
        import time

        started = time.perf_counter()
        files: list[SourceFile] = []
        for root in roots:
            files.extend(discover_files(Path(root), include_tests=self.include_tests))
        modules: dict[str, dict] = {}
        todo: list[SourceFile] = []
        cached: list[str] = []
        for source_file in files:
            facts = self._load_cached(source_file)
            if facts is None:
                todo.append(source_file)
            else:
                cached.append(source_file.relpath)
                # A later root overrides an earlier one for the same module (a lab's PLR fork).
                modules[source_file.module] = facts
        for facts, source_file in zip(self._parse_many(todo), todo):
            self._store(source_file, facts)
            modules[source_file.module] = facts
        errors = [m["error"] for m in modules.values() if m.get("error")]
        return ParseResult(
            modules, errors, files, [f.relpath for f in todo], cached, time.perf_counter() - started
        )

    def _parse_many(self, todo: list[SourceFile]) -> list[dict]:
        items = [(f.module, f.is_package, f.relpath, f.source, f.sha256) for f in todo]
        jobs = self.jobs if self.jobs is not None else (os.cpu_count() or 1)
        if jobs > 1 and len(items) >= 8 and _can_use_processes():
            try:
                return _parse_in_pool(items, jobs)
            except (OSError, RuntimeError, ImportError):
                pass  # no usable process pool here: fall back to parsing in-process
        return _parse_batch(items)


def _can_use_processes() -> bool:
    return sys.platform != "emscripten" and sys.implementation.name == "cpython"


def _parse_in_pool(items: list[tuple[str, bool, str, bytes, str]], jobs: int) -> list[dict]:
    """Parse on ``jobs`` cores; batches are balanced by size so both cores finish together."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    batches: list[list[int]] = [[] for _ in range(jobs)]
    sizes = [0] * jobs
    for index in sorted(range(len(items)), key=lambda i: -len(items[i][3])):
        target = sizes.index(min(sizes))
        batches[target].append(index)
        sizes[target] += len(items[index][3])
    # Several smaller chunks per worker so one slow chunk does not leave a core idle at the end.
    chunks: list[list[int]] = []
    for batch in batches:
        step = max(1, len(batch) // 4 + 1)
        chunks.extend(batch[i : i + step] for i in range(0, len(batch), step))
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    results: list[dict | None] = [None] * len(items)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [
            (chunk, pool.submit(_parse_batch, [items[i] for i in chunk])) for chunk in chunks
        ]
        for chunk, future in futures:
            for index, facts in zip(chunk, future.result()):
                results[index] = facts
    return [r for r in results if r is not None]
