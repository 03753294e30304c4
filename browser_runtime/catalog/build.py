"""build_catalog: parse source roots, classify, measure geometry, and assemble the catalog document."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import time
from pathlib import Path
from typing import Any

from .classify import DECK, MACHINE, MACHINE_BACKEND, RESOURCE, Classifier, manufacturer
from .names import snake_case
from .parser import PARSER_VERSION, ParseResult, PLRSourceParser
from .schema import (
    SCHEMA_VERSION,
    BackendEntry,
    CatalogDocument,
    CatalogError,
    ConstructorParameter,
    DeckEntry,
    MachineEntry,
    ResourceEntry,
    SerialSettings,
    UsbId,
)
from .symbols import SymbolTable


@dataclasses.dataclass
class BuildReport:
    """How a build went: what was parsed versus cached, and where the time went."""

    parsed: list[str]
    cached: list[str]
    parse_seconds: float
    classify_seconds: float
    geometry_seconds: float
    socket_attempts: list[dict]


@dataclasses.dataclass
class BuildResult:
    document: dict[str, Any]
    report: BuildReport


def installed_plr_root() -> Path:
    """The installed ``pylabrobot`` package directory, found without importing it."""
    spec = importlib.util.find_spec("pylabrobot")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pylabrobot is not installed; pass a source root")
    return Path(list(spec.submodule_search_locations)[0])


def source_roots(sources: list[Path] | None, include_installed: bool = True) -> list[Path]:
    """Installed PLR first, then the extra roots; a root named ``pylabrobot`` (a fork) replaces it."""
    extra = [Path(s).resolve() for s in sources or []]
    for root in extra:
        if not root.is_dir():
            raise FileNotFoundError(f"source root does not exist or is not a directory: {root}")
    roots = (
        []
        if not include_installed or any(r.name == "pylabrobot" for r in extra)
        else [installed_plr_root()]
    )
    return roots + [r for r in extra if r not in roots]


def build_catalog(
    sources: list[Path] | None = None,
    cache_dir: Path | None = None,
    *,
    geometry: bool = True,
    out_dir: Path | None = None,
    include_installed: bool = True,
    jobs: int | None = None,
    timeout: float = 10.0,
    parser: PLRSourceParser | None = None,
) -> dict[str, Any]:
    """The catalog document (a JSON-able dict) for the installed PLR plus ``sources``.

    ``geometry=False`` skips calling factories (the only CPython-only step), so the parser alone can
    run in Pyodide. With ``out_dir``, each factory's ``serialize()`` document is written to
    ``out_dir/serialized/<fqn>.json`` and the entry holds that relative path.
    """
    return build(
        sources,
        cache_dir,
        geometry=geometry,
        out_dir=out_dir,
        include_installed=include_installed,
        jobs=jobs,
        timeout=timeout,
        parser=parser,
    ).document


def build(
    sources: list[Path] | None = None,
    cache_dir: Path | None = None,
    *,
    geometry: bool = True,
    out_dir: Path | None = None,
    include_installed: bool = True,
    jobs: int | None = None,
    timeout: float = 10.0,
    parser: PLRSourceParser | None = None,
) -> BuildResult:
    """Like ``build_catalog`` but also returns a ``BuildReport``."""
    roots = source_roots(sources, include_installed)
    parser = parser or PLRSourceParser(cache_dir=cache_dir, jobs=jobs)
    parsed = parser.parse_roots(roots)
    started = time.perf_counter()
    assembler = _Assembler(parsed, roots)
    document = assembler.assemble()
    classify_seconds = time.perf_counter() - started
    geometry_seconds, attempts = 0.0, []
    if geometry:
        started = time.perf_counter()
        attempts = assembler.measure(document, out_dir, jobs or 2, timeout)
        geometry_seconds = time.perf_counter() - started
    report = BuildReport(
        parsed.parsed, parsed.cached, parsed.seconds, classify_seconds, geometry_seconds, attempts
    )
    return BuildResult(document, report)


def _plr_version(roots: list[Path]) -> str | None:
    for root in roots:
        version = root / "version.txt"
        if root.name == "pylabrobot" and version.exists():
            return version.read_text(encoding="utf-8").strip()
    return None


def _category_from_mro(mro: list[str]) -> str | None:
    for entry in mro:
        module = entry.rpartition(".")[0]
        if module.startswith("pylabrobot.resources.") and module.count(".") == 2:
            return snake_case(entry.rpartition(".")[2])
    return None


class _Assembler:
    def __init__(self, parsed: ParseResult, roots: list[Path]) -> None:
        self.parsed = parsed
        self.roots = roots
        self.symbols = SymbolTable(parsed.modules)
        self.classifier = Classifier(self.symbols)

    def _source(self, fqn: str, facts: dict) -> str:
        module = self.parsed.modules[fqn.rpartition(".")[0]]
        return f"{module['path']}:{facts.get('line', 0)}"

    def assemble(self) -> dict[str, Any]:
        symbols, classifier = self.symbols, self.classifier
        machines = symbols.subclasses(MACHINE)
        machine_entries = []
        for fqn in machines:
            cls = symbols.class_facts(fqn) or {}
            methods: set[str] = set()
            for owner in symbols.mro(fqn):
                if symbols.is_subclass(owner, MACHINE):
                    facts = symbols.class_facts(owner) or {"methods": {}}
                    methods.update(
                        n
                        for n, m in facts["methods"].items()
                        if m["is_async"] and not n.startswith("_")
                    )
            machine_entries.append(
                MachineEntry(
                    fqn=fqn,
                    name=fqn.rpartition(".")[2],
                    module=fqn.rpartition(".")[0],
                    kind=classifier.machine_kind(fqn),
                    bases=symbols.bases(fqn),
                    docstring=cls.get("docstring"),
                    async_methods=sorted(methods),
                    is_resource=symbols.is_subclass(fqn, RESOURCE),
                    source=self._source(fqn, cls),
                )
            )

        kinds = classifier.backend_frontend_kinds(machines)
        backend_entries = []
        for fqn in symbols.subclasses(MACHINE_BACKEND):
            if symbols.is_abstract(fqn):
                continue
            cls = symbols.class_facts(fqn) or {}
            io = classifier.backend_io(fqn)
            parameters, open_keywords = classifier.constructor(fqn)
            backend_entries.append(
                BackendEntry(
                    fqn=fqn,
                    name=fqn.rpartition(".")[2],
                    module=fqn.rpartition(".")[0],
                    frontend_kind=next((kinds[c] for c in symbols.mro(fqn) if c in kinds), None),
                    io=io["io"],
                    simulator=io["simulator"],
                    usb_ids=[UsbId(**u) for u in io["usb_ids"]],
                    serial=SerialSettings(**io["serial"]) if io["serial"] else None,
                    bases=symbols.bases(fqn),
                    docstring=cls.get("docstring"),
                    deprecated=classifier.deprecated_init(fqn),
                    source=self._source(fqn, cls),
                    parameters=[ConstructorParameter(**p) for p in parameters],
                    open_keywords=open_keywords,
                )
            )

        resources: list[ResourceEntry] = []
        decks: list[DeckEntry] = []
        for fqn, function in symbols.functions():
            name = fqn.rpartition(".")[2]
            if name.startswith("_"):
                continue
            returned = classifier.returned_class(fqn, function)
            if returned is None or symbols.is_subclass(returned, MACHINE):
                continue
            params = [
                p for p in function["params"] if p["kind"] not in ("var_positional", "var_keyword")
            ]
            required = [p["name"] for p in params if not p["has_default"]]
            network = classifier.uses_network(fqn)
            module = fqn.rpartition(".")[0]
            if symbols.is_subclass(returned, DECK):
                skipped = (
                    "fetches from the network at call time"
                    if network
                    else (f"needs arguments: {', '.join(required)}" if required else None)
                )
                decks.append(
                    DeckEntry(
                        fqn=fqn,
                        name=name,
                        module=module,
                        kind="factory",
                        deck_class=returned,
                        manufacturer=manufacturer(module),
                        skipped=skipped,
                        source=self._source(fqn, function),
                    )
                )
                continue
            if network:
                skipped = "fetches from the network at call time; not called"
            elif not any(p["name"] == "name" for p in params):
                skipped = "takes no name parameter; not a labware factory callable by name"
            elif any(r != "name" for r in required):
                skipped = "needs arguments besides name: " + ", ".join(
                    r for r in required if r != "name"
                )
            else:
                skipped = None
            resources.append(
                ResourceEntry(
                    fqn=fqn,
                    name=name,
                    module=module,
                    kind="factory",
                    category=classifier.resource_category(returned),
                    resource_class=returned,
                    manufacturer=manufacturer(module),
                    deprecated=classifier.deprecation(fqn, function),
                    docstring=function.get("docstring"),
                    skipped=skipped,
                    source=self._source(fqn, function),
                )
            )
        machine_set = set(machines)
        for fqn in symbols.subclasses(RESOURCE):
            if fqn in machine_set:
                continue  # a class that is both a Resource and a Machine is a machine
            cls = symbols.class_facts(fqn) or {}
            module = fqn.rpartition(".")[0]
            if symbols.is_subclass(fqn, DECK):
                # Deck classes are called with their defaults too (OTDeck()), when they have them all.
                init = symbols.find_method(fqn, "__init__")
                required = [
                    p["name"]
                    for p in (init[1]["params"][1:] if init else [])
                    if not p["has_default"] and p["kind"] not in ("var_positional", "var_keyword")
                ]
                decks.append(
                    DeckEntry(
                        fqn=fqn,
                        name=fqn.rpartition(".")[2],
                        module=module,
                        kind="class",
                        deck_class=fqn,
                        manufacturer=manufacturer(module),
                        skipped=f"needs arguments: {', '.join(required)}" if required else None,
                        source=self._source(fqn, cls),
                    )
                )
                continue
            resources.append(
                ResourceEntry(
                    fqn=fqn,
                    name=fqn.rpartition(".")[2],
                    module=module,
                    kind="class",
                    category=classifier.resource_category(fqn),
                    resource_class=fqn,
                    manufacturer=manufacturer(module),
                    deprecated=classifier.deprecated_init(fqn),
                    docstring=cls.get("docstring"),
                    source=self._source(fqn, cls),
                )
            )

        errors = [CatalogError(**e) for e in self.parsed.errors]
        digest = hashlib.sha256(f"{SCHEMA_VERSION}/{PARSER_VERSION}\n".encode())
        for module in sorted(self.parsed.modules):
            digest.update(f"{module}:{self.parsed.modules[module]['sha256']}\n".encode())
        document = CatalogDocument(
            schema_version=SCHEMA_VERSION,
            plr_version=_plr_version(self.roots),
            source_hash=digest.hexdigest(),
            sources=[str(r) for r in self.roots],
            machines=machine_entries,
            backends=backend_entries,
            resources=sorted(resources, key=lambda r: r.fqn),
            decks=sorted(decks, key=lambda d: d.fqn),
            errors=errors,
        ).to_dict()
        document["aliases"] = self._aliases(document)
        return document

    def _aliases(self, document: dict) -> dict[str, str]:
        """Every other import path (package re-exports) by which an entry's fqn is reachable."""
        known = {
            e["fqn"]
            for key in ("machines", "backends", "resources", "decks")
            for e in document[key]
        }
        aliases: dict[str, str] = {}
        for module, facts in self.symbols.modules.items():
            if not facts.get("is_package"):
                continue
            names = set(facts.get("imports", {})) | set(self.symbols._star_names(module))
            for name in names:
                if "." in name:
                    continue
                target = self.symbols.canonical(f"{module}.{name}")
                if target in known and target != f"{module}.{name}":
                    aliases[f"{module}.{name}"] = target
        return dict(sorted(aliases.items()))

    def measure(
        self, document: dict, out_dir: Path | None, jobs: int, timeout: float
    ) -> list[dict]:
        """Call every callable factory on CPython and merge PLR's own numbers into the entries."""
        from .geometry import measure

        tasks = []
        for key, needs_name in (("resources", True), ("decks", False)):
            for entry in document[key]:
                if (entry["kind"] == "factory" or key == "decks") and not entry["skipped"]:
                    tasks.append(
                        {
                            "fqn": entry["fqn"],
                            "module": entry["module"],
                            "name": entry["name"],
                            "needs_name": needs_name,
                        }
                    )
        serialized_dir = Path(out_dir) / "serialized" if out_dir is not None else None
        sys_path = [str(root.parent) for root in self.roots]
        results, attempts = measure(tasks, sys_path, serialized_dir, timeout=timeout, jobs=jobs)
        for key in ("resources", "decks"):
            for entry in document[key]:
                result = results.get(entry["fqn"])
                if result is None:
                    continue
                if "error" in result:
                    entry["error"] = result["error"]
                    document["errors"].append(
                        dataclasses.asdict(
                            CatalogError(
                                file=entry["source"].rpartition(":")[0],
                                line=int(entry["source"].rpartition(":")[2]),
                                column=None,
                                message=f"factory failed: {result['error']}",
                                fqn=entry["fqn"],
                            )
                        )
                    )
                    continue
                entry["size"] = result["size"]
                entry["serialized"] = result.get("serialized")
                geometry = result["geometry"]
                if key == "decks":
                    entry["rails"] = geometry.get("num_rails")
                    entry["slots"] = geometry.get("slots")
                    continue
                actual = _category_from_mro(geometry.pop("mro"))
                entry["geometry"] = geometry
                if entry["category"] != actual:
                    document["errors"].append(
                        dataclasses.asdict(
                            CatalogError(
                                file=None,
                                line=None,
                                column=None,
                                fqn=entry["fqn"],
                                message=f"static category {entry['category']!r} differs from PLR's {actual!r}",
                            )
                        )
                    )
        return attempts
