"""Classify parsed PLR classes and functions: machines, backends (IO, ids, line settings), resources, decks."""

from __future__ import annotations

from typing import Any

from .names import snake_case
from .symbols import SymbolTable

MACHINE = "pylabrobot.machines.machine.Machine"
MACHINE_BACKEND = "pylabrobot.machines.backend.MachineBackend"
IO_BASE = "pylabrobot.io.io.IOBase"
RESOURCE = "pylabrobot.resources.resource.Resource"
DECK = "pylabrobot.resources.deck.Deck"

# Libraries outside PLR that move bytes, and the IO kind each implies. These describe third-party
# packages PLR backends call directly (ot_api is the Opentrons HTTP client, pymodbus drives a
# serial line); PLR's own IO classes are found through pylabrobot.io.io.IOBase instead.
EXTERNAL_IO = {
    "ot_api": "http",
    "requests": "http",
    "urllib.request": "http",
    "http.client": "http",
    "http.server": "http",
    "aiohttp": "http",
    "httpx": "http",
    "pymodbus": "serial",
    "serial": "serial",
    "usb": "usb",
    "hid": "hid",
    "pylibftdi": "ftdi",
    "socket": "socket",
}
# Modules whose use means a network round trip at call time (resource factories must not).
NETWORK_MODULES = (
    "urllib.request",
    "urllib3",
    "http.client",
    "requests",
    "socket",
    "aiohttp",
    "httpx",
    "ftplib",
)
# pyserial's documented constants (serial.PARITY_ODD == "O", ...), used when a backend passes them.
PYSERIAL_CONSTANTS = {
    "serial.PARITY_NONE": "N",
    "serial.PARITY_EVEN": "E",
    "serial.PARITY_ODD": "O",
    "serial.PARITY_MARK": "M",
    "serial.PARITY_SPACE": "S",
    "serial.FIVEBITS": 5,
    "serial.SIXBITS": 6,
    "serial.SEVENBITS": 7,
    "serial.EIGHTBITS": 8,
    "serial.STOPBITS_ONE": 1,
    "serial.STOPBITS_ONE_POINT_FIVE": 1.5,
    "serial.STOPBITS_TWO": 2,
}
# libftdi's ftdi_set_line_property / ftdi_setflowctrl encodings, in the order the C enums define.
_FTDI_PARITY = {0: "N", 1: "O", 2: "E", 3: "M", 4: "S"}
_FTDI_STOPBITS = {0: 1, 1: 1.5, 2: 2}
_FTDI_RTS_CTS, _FTDI_DTR_DSR = 0x100, 0x200

SERIAL_KEYS = ("baudrate", "bytesize", "parity", "stopbits", "rtscts", "dsrdtr")
_UNKNOWN = object()


class Classifier:
    """Answers catalog questions about a symbol table. All methods are pure and cached-free."""

    def __init__(self, symbols: SymbolTable) -> None:
        self.symbols = symbols
        # PLR's transports live in pylabrobot.io.<kind>; some derive from PLR's IOBase, some (Serial,
        # FTDI in 0.2.2) from the stdlib's io.IOBase, so both roots count.
        self.io_classes = {
            fqn: fqn.split(".")[-2]
            for root in (IO_BASE, "io.IOBase")
            for fqn in symbols.subclasses(root)
            if fqn.startswith("pylabrobot.io.") and fqn.count(".") == 3
        }
        self._helper_io: dict[str, str | None] = {}
        self._network: dict[str, bool] = {}

    # ---- shared helpers ---------------------------------------------------------------------------

    def _module(self, fqn: str) -> str:
        return fqn.rpartition(".")[0]

    def _resolve(self, owner: str, method: dict | None, dotted: str | None) -> str | None:
        return self.symbols.resolve(
            self._module(owner), dotted, method.get("imports") if method else None
        )

    def _external_kind(self, fqn: str | None) -> str | None:
        for module, kind in EXTERNAL_IO.items():
            if fqn and (fqn == module or fqn.startswith(module + ".")):
                return kind
        return None

    def _value(self, desc: dict | None, owner: str, method: dict | None, env: dict) -> Any:
        """The literal a described argument has, following parameters, constants and imports."""
        if desc is None:
            return _UNKNOWN
        if "v" in desc:
            return desc["v"]
        ref = desc["ref"]
        if ref in env:
            return env[ref]
        if method is not None and ref in method.get("constants", {}):
            return method["constants"][ref]
        fqn = self._resolve(owner, method, ref)
        if fqn in PYSERIAL_CONSTANTS:
            return PYSERIAL_CONSTANTS[fqn]
        module, _, name = (fqn or "").rpartition(".")
        facts = self.symbols.modules.get(module)
        if facts is not None and name in facts.get("constants", {}):
            return facts["constants"][name]
        return _UNKNOWN

    def _bind(
        self,
        callee_params: list[dict],
        call: dict,
        owner: str,
        method: dict | None,
        env: dict,
        skip_self: bool,
    ) -> dict:
        """Parameter name -> literal for a call, falling back to the callee's own defaults."""
        params = [p for p in callee_params if p["kind"] not in ("var_positional", "var_keyword")]
        if skip_self and params and params[0]["name"] in ("self", "cls"):
            params = params[1:]
        bound: dict[str, Any] = {}
        for param, arg in zip([p for p in params if p["kind"] != "kwonly"], call["args"]):
            bound[param["name"]] = self._value(arg, owner, method, env)
        for key, arg in call["kwargs"].items():
            bound[key] = self._value(arg, owner, method, env)
        for param in params:
            if param["name"] not in bound and param["has_default"]:
                bound[param["name"]] = self._value(param["default"], owner, None, {})
        return bound

    def _method_env(self, owner: str, method: dict, bound: dict) -> dict:
        env = {}
        for param in method["params"]:
            if param["name"] in bound:
                env[param["name"]] = bound[param["name"]]
            elif param["has_default"]:
                env[param["name"]] = self._value(param["default"], owner, None, {})
        return env

    def _chain(
        self, cls: str, method_name: str, after: str | None = None
    ) -> list[tuple[str, dict, dict]]:
        """The methods a call to ``cls().<method_name>`` runs through explicit super/base calls.

        Each item is (owner class, method facts, parameter -> literal environment).
        """
        found = self.symbols.find_method(cls, method_name, after=after)
        if found is None:
            return []
        chain: list[tuple[str, dict, dict]] = []
        pending = [(found[0], found[1], {})]
        seen: set[str] = set()
        while pending and len(chain) < 20:
            owner, method, bound = pending.pop(0)
            if owner in seen:
                continue
            seen.add(owner)
            env = self._method_env(owner, method, bound)
            chain.append((owner, method, env))
            for call in method["calls"]:
                callee = call["callee"]
                nxt = None
                if callee == f"super().{method_name}":
                    nxt = self.symbols.find_method(cls, method_name, after=owner)
                    skip_self = True
                elif (
                    callee.endswith(f".{method_name}")
                    and call["args"][:1]
                    and (call["args"][0] or {}).get("ref") == "self"
                ):
                    base = self._resolve(owner, method, callee[: -len(method_name) - 1])
                    if base and self.symbols.class_facts(base) is not None:
                        nxt = self.symbols.find_method(base, method_name)
                    call = {**call, "args": call["args"][1:]}
                    skip_self = True
                if nxt is not None:
                    pending.append(
                        (
                            nxt[0],
                            nxt[1],
                            self._bind(nxt[1]["params"], call, owner, method, env, skip_self),
                        )
                    )
        return chain

    # ---- IO ---------------------------------------------------------------------------------------

    def helper_io(self, cls: str, depth: int = 0) -> str | None:
        """IO kind a non-backend helper class (a control box, a SiLA interface) uses, if any."""
        if cls in self._helper_io:
            return self._helper_io[cls]
        self._helper_io[cls] = None
        kind = None
        if cls in self.io_classes:
            kind = self.io_classes[cls]
        else:
            candidates = [cls] + [c for c in self.symbols.subclasses(cls)]
            for candidate in candidates:
                for owner in self.symbols.mro(candidate):
                    facts = self.symbols.class_facts(owner)
                    if facts is None or owner == MACHINE_BACKEND:
                        continue
                    for method in facts["methods"].values():
                        kind = kind or self._method_io(owner, method, depth)
                if kind:
                    break
        self._helper_io[cls] = kind
        return kind

    def _method_io(self, owner: str, method: dict, depth: int) -> str | None:
        for call in method["calls"]:
            fqn = self._resolve(owner, method, call["callee"])
            if fqn in self.io_classes:
                return self.io_classes[fqn]
        for ref in method["refs"]:
            kind = self._external_kind(self._resolve(owner, method, ref))
            if kind:
                return kind
        if depth < 2:
            for call in method["calls"]:
                fqn = self._resolve(owner, method, call["callee"])
                if (
                    fqn
                    and self.symbols.class_facts(fqn) is not None
                    and not self.symbols.is_subclass(fqn, MACHINE_BACKEND)
                ):
                    kind = self.helper_io(fqn, depth + 1)
                    if kind:
                        return kind
        return None

    def _is_io_value(self, owner: str, method: dict, ref: str) -> bool:
        fqn = self._resolve(owner, method, ref)
        return bool(
            fqn in self.io_classes
            or self._external_kind(fqn)
            or (
                fqn
                and self.symbols.class_facts(fqn) is not None
                and not self.symbols.is_subclass(fqn, MACHINE_BACKEND)
                and self.helper_io(fqn)
            )
        )

    def deprecated_init(self, cls: str) -> str | None:
        """The message when ``cls.__init__`` exists only to refuse a deprecated name."""
        found = self.symbols.find_method(cls, "__init__")
        if found is None or found[0] != cls:
            return None
        for raised in found[1]["raises"]:
            message = raised.get("message") or ""
            if "deprecat" in message.lower():
                return message
        return None

    def backend_io(self, cls: str) -> dict[str, Any]:
        """IO kind, USB ids, line settings and whether any hardware is touched, for one backend.

        Everything follows what an instance would run: the effective ``__init__`` chain (explicit
        ``super().__init__``/``Base.__init__(self)`` calls with their literal arguments bound to the
        callee's parameters), and the effective version of every other method.
        """
        # A deprecated alias whose __init__ only raises describes its parent's hardware.
        init_after = cls if self.deprecated_init(cls) else None
        init_chain = self._chain(cls, "__init__", after=init_after)
        names: set[str] = set()
        for owner in self.symbols.mro(cls):
            facts = self.symbols.class_facts(owner)
            if facts is not None and owner != MACHINE_BACKEND:
                names.update(facts["methods"])
        names.discard("__init__")
        chains = {name: self._chain(cls, name) for name in sorted(names)}
        effective = init_chain + [item for chain in chains.values() for item in chain]

        io_kind: str | None = None
        usb_ids: list[dict] = []
        serial: dict[str, Any] = {}
        io_attrs: set[str] = set()
        for owner, method, env in effective:
            for call in method["calls"]:
                fqn = self._resolve(owner, method, call["callee"])
                if fqn in self.io_classes:
                    io_kind = io_kind or self.io_classes[fqn]
                    init = self.symbols.find_method(fqn, "__init__")
                    bound = (
                        self._bind(init[1]["params"], call, owner, method, env, True)
                        if init
                        else {}
                    )
                    vid = bound.get("id_vendor", bound.get("vid"))
                    pid = bound.get("id_product", bound.get("pid"))
                    if (
                        isinstance(vid, int)
                        and isinstance(pid, int)
                        and {"vid": vid, "pid": pid} not in usb_ids
                    ):
                        usb_ids.append({"vid": vid, "pid": pid})
                    if self.io_classes[fqn] == "serial":
                        for key in SERIAL_KEYS:
                            if key in bound and bound[key] is not _UNKNOWN and key not in serial:
                                serial[key] = bound[key]
                leaf = call["callee"].rpartition(".")[2]
                if leaf in ("set_baudrate", "set_line_property", "set_flowctrl"):
                    self._ftdi_settings(leaf, call, owner, method, env, serial)
            for attr, refs in method["self_attrs"].items():
                if any(self._is_io_value(owner, method, ref) for ref in refs):
                    io_attrs.add(attr)
        if io_kind is None:
            for owner, method, _ in effective:
                io_kind = io_kind or self._method_io(owner, method, 0)

        via_interface = False
        if io_kind is None:
            for owner, method, _ in init_chain:
                for param in method["params"]:
                    target = (
                        self._resolve(owner, method, param["annotation"])
                        if param["annotation"]
                        else None
                    )
                    if (
                        target
                        and self.symbols.class_facts(target) is not None
                        and (
                            self.symbols.is_subclass(target, MACHINE_BACKEND)
                            or self.helper_io(target)
                        )
                    ):
                        via_interface = True

        def touches(owner: str, method: dict) -> bool:
            for ref in method["refs"]:
                if ref.startswith("self.") and ref.split(".")[1] in io_attrs:
                    return True
                if self._external_kind(self._resolve(owner, method, ref)):
                    return True
            return any(
                self._resolve(owner, method, c["callee"]) in self.io_classes
                for c in method["calls"]
            )

        # Connecting happens in setup(): follow it and the self-methods it calls, a few levels deep.
        touches_hardware = via_interface
        frontier, seen = ["setup"], set()
        for _ in range(4):
            following: list[str] = []
            for name in frontier:
                if name in seen:
                    continue
                seen.add(name)
                for owner, method, _ in chains.get(name, []):
                    touches_hardware = touches_hardware or touches(owner, method)
                    following.extend(
                        c["callee"][5:]
                        for c in method["calls"]
                        if c["callee"].startswith("self.") and c["callee"].count(".") == 1
                    )
            frontier = following
        if not io_attrs and not touches_hardware:
            # No transport object to open: a backend that calls an HTTP client per command (Opentrons
            # modules) talks to hardware whenever any of its methods does.
            touches_hardware = any(touches(o, m) for o, m, _ in effective)
        simulator = not touches_hardware
        return {
            "io": "none"
            if simulator
            else ("via_interface" if via_interface else (io_kind or "none")),
            "usb_ids": [] if simulator else usb_ids,
            "serial": None if simulator else (serial or None),
            "simulator": simulator,
        }

    def _ftdi_settings(
        self, leaf: str, call: dict, owner: str, method: dict, env: dict, serial: dict
    ) -> None:
        values = [self._value(a, owner, method, env) for a in call["args"]]
        kw = {k: self._value(v, owner, method, env) for k, v in call["kwargs"].items()}
        if leaf == "set_baudrate":
            value = values[0] if values else kw.get("baudrate", _UNKNOWN)
            if isinstance(value, int):
                serial.setdefault("baudrate", value)
        elif leaf == "set_line_property":
            bits = values[0] if len(values) > 0 else kw.get("bits", _UNKNOWN)
            stop = values[1] if len(values) > 1 else kw.get("stopbits", _UNKNOWN)
            parity = values[2] if len(values) > 2 else kw.get("parity", _UNKNOWN)
            if isinstance(bits, int):
                serial.setdefault("bytesize", bits)
            if stop in _FTDI_STOPBITS:
                serial.setdefault("stopbits", _FTDI_STOPBITS[stop])
            if parity in _FTDI_PARITY:
                serial.setdefault("parity", _FTDI_PARITY[parity])
        elif leaf == "set_flowctrl":
            value = values[0] if values else kw.get("flowctrl", _UNKNOWN)
            if isinstance(value, int):
                serial.setdefault("rtscts", bool(value & _FTDI_RTS_CTS))
                serial.setdefault("dsrdtr", bool(value & _FTDI_DTR_DSR))

    # ---- constructors -------------------------------------------------------------------------------

    #: Bases outside the sources known to add no ``__init__`` parameters.
    _PLAIN_BASES = frozenset({"object", "abc.ABC", "ABC", "typing.Generic", "Generic"})

    def constructor(self, cls: str, after: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """``cls(...)``'s keywords: ``([{name, required, default, annotation}], open_keywords)``.

        The ``__init__`` Python would run (the first in the MRO, after class ``after`` when
        following ``**kwargs``), ``self`` left out; its ``**kwargs`` adds the next ``__init__``'s
        parameters (as optional: the class may fill them). ``open_keywords`` says that
        ``**kwargs`` reaches a class outside the sources, which may accept any name.
        """
        found = self.symbols.find_method(cls, "__init__", after=after)
        order = self.symbols.mro(cls)
        rest = order[order.index(after) + 1 :] if after in order else order
        unreadable = any(
            self.symbols.class_facts(c) is None and c not in self._PLAIN_BASES for c in rest
        )
        if found is None:
            return [], unreadable
        owner, init = found
        named = [p for p in init["params"] if p["kind"] not in ("var_positional", "var_keyword")]
        parameters = [
            {
                "name": p["name"],
                "required": not p["has_default"],
                "default": p.get("default_source"),
                "annotation": p.get("annotation_source"),
            }
            for p in named[1:]  # self
        ]
        open_keywords = False
        if any(p["kind"] == "var_keyword" for p in init["params"]):
            inherited, open_keywords = self.constructor(cls, after=owner)
            known = {p["name"] for p in parameters}
            parameters += [{**p, "required": False} for p in inherited if p["name"] not in known]
            later = order[order.index(owner) + 1 :]
            open_keywords = open_keywords or not later  # **kwargs that goes nowhere we can see
        return parameters, open_keywords

    # ---- machines and backends --------------------------------------------------------------------

    def backend_annotation(self, frontend: str) -> str | None:
        """The backend class a frontend's ``__init__`` declares for its ``backend`` parameter."""
        cls = self.symbols.class_facts(frontend)
        init = cls["methods"].get("__init__") if cls else None
        if init is None:
            return None
        for param in init["params"]:
            if param["name"] == "backend" and param["annotation"]:
                return self._resolve(frontend, init, param["annotation"])
        return None

    def is_generic_frontend(self, frontend: str) -> bool:
        """A frontend that defines its own kind: it declares a backend type of its own that is
        abstract or sits directly on MachineBackend, unlike the backend of any parent frontend."""
        backend = self.backend_annotation(frontend)
        if backend is None or self.symbols.class_facts(backend) is None:
            return False
        if not (
            self.symbols.is_abstract(backend) or MACHINE_BACKEND in self.symbols.bases(backend)
        ):
            return False
        parents = [
            c
            for c in self.symbols.mro(frontend)[1:]
            if self.symbols.is_subclass(c, MACHINE) and c != MACHINE
        ]
        return all(self.backend_annotation(p) != backend for p in parents)

    def machine_kind(self, frontend: str) -> str:
        for cls in self.symbols.mro(frontend):
            if (
                cls != MACHINE
                and self.symbols.is_subclass(cls, MACHINE)
                and self.is_generic_frontend(cls)
            ):
                return snake_case(cls.rpartition(".")[2])
        # No declared backend type anywhere: the class right under Machine names the kind.
        for cls in self.symbols.mro(frontend):
            if MACHINE in self.symbols.bases(cls):
                return snake_case(cls.rpartition(".")[2])
        return snake_case(frontend.rpartition(".")[2])

    def backend_frontend_kinds(self, machines: list[str]) -> dict[str, str]:
        """Backend class -> kind of the generic frontend that declares it."""
        kinds: dict[str, str] = {}
        for frontend in machines:
            if self.is_generic_frontend(frontend):
                backend = self.backend_annotation(frontend)
                if backend:
                    kinds.setdefault(backend, self.machine_kind(frontend))
        return kinds

    # ---- resources --------------------------------------------------------------------------------

    def resource_category(self, cls: str) -> str | None:
        """Snake-case name of the first generic resource class (defined in a top-level module of
        ``pylabrobot.resources``, e.g. ``pylabrobot.resources.plate.Plate``) in the MRO."""
        for entry in self.symbols.mro(cls):
            module = entry.rpartition(".")[0]
            if (
                module.startswith("pylabrobot.resources.")
                and module.count(".") == 2
                and self.symbols.is_subclass(entry, RESOURCE)
            ):
                return snake_case(entry.rpartition(".")[2])
        return None

    def returned_class(self, fqn: str, function: dict) -> str | None:
        """The resource class a factory returns, from its annotation or its ``return X(...)``."""
        candidates = [function["returns"]] + function["returned_calls"]
        for candidate in candidates:
            target = self._resolve(fqn, function, candidate)
            if (
                target
                and self.symbols.class_facts(target) is not None
                and self.symbols.is_subclass(target, RESOURCE)
            ):
                return target
        # A factory that returns another factory's result: follow one level of calls.
        for candidate in function["returned_calls"]:
            target = self._resolve(fqn, function, candidate)
            inner = self.symbols.function_facts(target)
            if inner is not None and target != fqn:
                found = self.returned_class(
                    target, {**inner, "returned_calls": inner["returned_calls"]}
                )
                if found:
                    return found
        return None

    def uses_network(self, fqn: str) -> bool:
        """Does calling this function reach a network library, through any chain of calls?"""
        if fqn in self._network:
            return self._network[fqn]
        self._network[fqn] = False
        function = self.symbols.function_facts(fqn)
        if function is None:
            return False
        result = False
        for ref in function["refs"]:
            target = self._resolve(fqn, function, ref) or ""
            if any(target == m or target.startswith(m + ".") for m in NETWORK_MODULES):
                result = True
                break
            if (
                target != fqn
                and self.symbols.function_facts(target) is not None
                and self.uses_network(target)
            ):
                result = True
                break
        self._network[fqn] = result
        return result

    def deprecation(self, fqn: str, function: dict) -> str | None:
        """Why a factory is deprecated, when its body or decorators say so."""
        for raised in function["raises"]:
            message = raised.get("message") or ""
            if "deprecat" in message.lower() or "removed" in message.lower():
                return message
        for call in function["calls"]:
            if call["callee"].rpartition(".")[2] == "warn":
                values = [a for a in call["args"] + list(call["kwargs"].values()) if a]
                refs = [self._resolve(fqn, function, a["ref"]) for a in values if "ref" in a]
                if any(r and r.endswith("DeprecationWarning") for r in refs):
                    text = next(
                        (a["v"] for a in values if isinstance(a.get("v"), str)), "deprecated"
                    )
                    return text
        for decorator in function["decorators"]:
            if decorator.rpartition(".")[2] == "deprecated":
                return "deprecated"
        return None


def manufacturer(module: str) -> str | None:
    """Vendor package a definition lives in: ``pylabrobot.resources.corning.plates`` -> corning."""
    parts = module.split(".")
    if "resources" in parts:
        index = parts.index("resources")
        return parts[index + 1] if len(parts) > index + 2 else None
    return parts[0] if parts[0] != "pylabrobot" else None
