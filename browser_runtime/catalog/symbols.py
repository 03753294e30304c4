"""Module symbol table: what every name in every parsed module refers to, across imports and re-exports."""

from __future__ import annotations

from typing import Iterator


class SymbolTable:
    """Resolves names the way Python would, without importing anything.

    Built from per-module facts (see ``parser.parse_source``): definitions (classes, functions),
    imports (``import a.b``, ``from x import y as z``, relative imports), ``from x import *``,
    and module-level aliases (``STAR = STARBackend``). ``canonical`` maps any path a name is
    reachable by (``pylabrobot.resources.Cor_96_wellplate_360ul_Fb``) to where it is defined.
    """

    def __init__(self, modules: dict[str, dict]) -> None:
        self.modules = {name: facts for name, facts in modules.items() if not facts.get("error")}
        self._canonical_cache: dict[str, str | None] = {}
        self._star_cache: dict[str, dict[str, str]] = {}

    # ---- definitions ------------------------------------------------------------------------------

    def classes(self) -> Iterator[tuple[str, dict]]:
        for module, facts in self.modules.items():
            for name, cls in facts.get("classes", {}).items():
                yield f"{module}.{name}", cls

    def functions(self) -> Iterator[tuple[str, dict]]:
        for module, facts in self.modules.items():
            for name, function in facts.get("functions", {}).items():
                yield f"{module}.{name}", function

    def class_facts(self, fqn: str | None) -> dict | None:
        module, _, name = (fqn or "").rpartition(".")
        facts = self.modules.get(module)
        return facts.get("classes", {}).get(name) if facts else None

    def function_facts(self, fqn: str | None) -> dict | None:
        module, _, name = (fqn or "").rpartition(".")
        facts = self.modules.get(module)
        return facts.get("functions", {}).get(name) if facts else None

    # ---- resolution -------------------------------------------------------------------------------

    def _star_names(self, module: str, seen: frozenset[str] = frozenset()) -> dict[str, str]:
        """Names ``from module import *`` brings in (honouring ``__all__``), mapped to their targets."""
        cached = self._star_cache.get(module)
        if cached is not None:
            return cached
        facts = self.modules.get(module)
        names: dict[str, str] = {}
        if facts is None or module in seen:
            return names
        for source in facts.get("star_imports", []):
            names.update(self._star_names(source, seen | {module}))
        for local, target in facts.get("imports", {}).items():
            if "." not in local:
                names[local] = target
        for local, target in facts.get("aliases", {}).items():
            names[local] = f"{module}.{target}"
        for local in list(facts.get("classes", {})) + list(facts.get("functions", {})):
            names[local] = f"{module}.{local}"
        public = facts.get("all")
        if public is not None:
            names = {k: v for k, v in names.items() if k in public}
        else:
            names = {k: v for k, v in names.items() if not k.startswith("_")}
        self._star_cache[module] = names
        return names

    def _lookup_in_module(self, module: str, name: str) -> str | None:
        """The (not yet canonical) path ``module.name`` points to, or None if unknown."""
        facts = self.modules.get(module)
        if facts is None:
            return None
        if name in facts.get("classes", {}) or name in facts.get("functions", {}):
            return f"{module}.{name}"
        if name in facts.get("aliases", {}):
            return self.resolve(module, facts["aliases"][name])
        if name in facts.get("imports", {}):
            return facts["imports"][name]
        if f"{module}.{name}" in self.modules:
            return f"{module}.{name}"  # a submodule
        star = self._star_names(module)
        if name in star:
            return star[name]
        if name in facts.get("constants", {}):
            return f"{module}.{name}"
        return None

    def canonical(self, fqn: str | None, _depth: int = 0) -> str | None:
        """Where ``fqn`` is defined: a module, or ``module.Name`` of a class/function/constant.

        Names outside the parsed roots (``abc.ABC``, ``serial.PARITY_ODD``) come back unchanged.
        """
        if not fqn:
            return None
        if fqn in self._canonical_cache:
            return self._canonical_cache[fqn]
        if _depth > 40:
            return fqn  # an import cycle; give up on this name rather than loop
        self._canonical_cache[fqn] = fqn  # provisional, breaks cycles
        result = fqn
        parts = fqn.split(".")
        for split in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:split])
            if module not in self.modules:
                continue
            target = self._lookup_in_module(module, parts[split])
            if target is None:
                break
            rest = parts[split + 1 :]
            head = (
                target
                if target == f"{module}.{parts[split]}"
                else self.canonical(target, _depth + 1)
            )
            result = ".".join([head or target, *rest])
            if rest:
                result = self.canonical(result, _depth + 1) or result
            break
        self._canonical_cache[fqn] = result
        return result

    def resolve(
        self, module: str, dotted: str | None, local_bindings: dict | None = None
    ) -> str | None:
        """The canonical fqn a dotted name used inside ``module`` refers to."""
        if not dotted:
            return None
        head, _, rest = dotted.partition(".")
        facts = self.modules.get(module, {})
        target = None
        if local_bindings and head in local_bindings:
            target = local_bindings[head]
        elif "." in dotted and dotted in facts.get("imports", {}):
            return self.canonical(dotted)  # `import a.b` then `a.b.X`
        else:
            target = self._lookup_in_module(module, head)
        if target is None:
            return dotted  # a builtin or an unknown name
        full = f"{target}.{rest}" if rest else target
        return self.canonical(full)

    # ---- classes ----------------------------------------------------------------------------------

    def bases(self, fqn: str) -> list[str]:
        cls = self.class_facts(fqn)
        if cls is None:
            return []
        module = fqn.rpartition(".")[0]
        return [b for b in (self.resolve(module, base) for base in cls["bases"]) if b]

    def mro(self, fqn: str) -> list[str]:
        """C3 linearisation like Python's; unknown (external) bases end the chain."""
        cache = getattr(self, "_mro_cache", None)
        if cache is None:
            cache = self._mro_cache = {}
        if fqn in cache:
            return cache[fqn]
        cache[fqn] = [fqn]  # provisional, guards against cyclic bases in broken code
        bases = self.bases(fqn)
        sequences = [list(self.mro(b)) for b in bases] + [list(bases)]
        result = [fqn]
        while True:
            sequences = [s for s in sequences if s]
            if not sequences:
                break
            for sequence in sequences:
                head = sequence[0]
                if not any(head in s[1:] for s in sequences):
                    break
            else:
                # Inconsistent hierarchy: Python would refuse it; fall back to depth-first order.
                head = sequences[0][0]
            result.append(head)
            for sequence in sequences:
                if sequence and sequence[0] == head:
                    del sequence[0]
        cache[fqn] = result
        return result

    def is_subclass(self, fqn: str, base: str) -> bool:
        return base in self.mro(fqn)

    def find_method(
        self, fqn: str, method: str, after: str | None = None
    ) -> tuple[str, dict] | None:
        """The class in ``fqn``'s MRO (optionally after class ``after``) that defines ``method``."""
        order = self.mro(fqn)
        if after is not None and after in order:
            order = order[order.index(after) + 1 :]
        for owner in order:
            cls = self.class_facts(owner)
            if cls is not None and method in cls["methods"]:
                return owner, cls["methods"][method]
        return None

    def abstract_methods(self, fqn: str) -> set[str]:
        """Names Python's ABCMeta would list in ``__abstractmethods__`` for this class."""
        cache = getattr(self, "_abstract_cache", None)
        if cache is None:
            cache = self._abstract_cache = {}
        if fqn in cache:
            return cache[fqn]
        cache[fqn] = set()
        cls = self.class_facts(fqn)
        if cls is None:
            return set()
        module = fqn.rpartition(".")[0]
        abstract = {
            name
            for name, method in cls["methods"].items()
            if any(
                (self.resolve(module, d) or "").endswith("abstractmethod")
                for d in method["decorators"]
            )
        }
        for base in self.bases(fqn):
            for name in self.abstract_methods(base):
                owner = self.find_method(fqn, name)
                defined_in_class = name in cls["attributes"]
                if not defined_in_class and owner is not None:
                    owner_cls = self.class_facts(owner[0])
                    owner_module = owner[0].rpartition(".")[0]
                    if (
                        any(
                            (self.resolve(owner_module, d) or "").endswith("abstractmethod")
                            for d in owner[1]["decorators"]
                        )
                        and owner_cls is not None
                    ):
                        abstract.add(name)
                elif owner is None and not defined_in_class:
                    abstract.add(name)
        cache[fqn] = abstract
        return abstract

    def is_abstract(self, fqn: str) -> bool:
        return bool(self.abstract_methods(fqn))

    def subclasses(self, base: str) -> list[str]:
        return sorted(
            fqn for fqn, _ in self.classes() if fqn != base and self.is_subclass(fqn, base)
        )
