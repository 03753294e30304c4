"""The protocol analysis document: versioned dataclasses shared with the page (``ProtocolFile``)."""

from __future__ import annotations

import dataclasses
from typing import Any

# Major bumps break readers; minor bumps only add fields. 1.1: ``script`` (a plain PLR
# script's machines and labware); 1.2: ``time_links`` of a protocol; 1.3: ``handled`` of a
# resource requirement.
SCHEMA_VERSION = "1.3"


@dataclasses.dataclass
class Parameter:
    """One parameter of a protocol function, classified through the file's imports and the catalog."""

    name: str
    annotation: str | None  # the annotation's source text, as written
    type: str | None  # fully qualified name (canonical when the catalog knows it), or None
    kind: str  # "machine" | "resource" | "value"
    machine_kind: str | None
    category: str | None
    default: Any  # the literal default, or None (see has_default / default_source)
    has_default: bool
    default_source: str | None
    optional: bool
    multiple: bool = False  # list[Plate], Sequence[TipRack], ...


@dataclasses.dataclass
class MachineRequirement:
    parameter: str
    machine_kind: str
    type: str
    capabilities: list[str]
    methods: list[str]  # the machine's methods the protocol calls, which gave the capabilities


@dataclasses.dataclass
class ResourceRequirement:
    parameter: str | None  # None for labware the protocol creates itself from a factory
    category: str | None
    type: str
    name: str | None = None  # the literal ``name=`` of a factory call
    multiple: bool = False
    line: int | None = None
    #: The protocol's code names it (hands it to a call, reads it). Labware it never names is
    #: only worked on by a machine that holds it (a plate reader reads the plate inside).
    handled: bool = True


@dataclasses.dataclass
class Requirements:
    machines: list[MachineRequirement]
    resources: list[ResourceRequirement]


@dataclasses.dataclass
class DataView:
    name: str
    description: str = ""
    source_type: str = "function_output"
    source_filter: Any = None
    schema: Any = None
    required: bool = False
    default_value: Any = None


@dataclasses.dataclass
class TimeLinkSpec:
    """A declared time link (``TimeLink`` in the decorator): every ``before`` call starts
    ``min_s``..``max_s`` seconds after the end of the latest ``after`` call before it."""

    after: str  # "parameter.method"
    before: str
    min_s: float = 0.0
    max_s: float | None = None
    description: str = ""
    line: int | None = None


@dataclasses.dataclass
class ProtocolDefinition:
    function: str
    name: str
    version: str
    description: str | None
    parameters: list[Parameter]
    requirements: Requirements
    data_views: list[DataView]
    deck_layout_path: str | None
    tags: list[str]
    category: str | None
    param_metadata: dict[str, Any]
    is_async: bool
    line: int
    column: int
    time_links: list[TimeLinkSpec] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class AnalysisError:
    """Something in the file that stops or limits the analysis; line and column are 1-based."""

    line: int | None
    column: int | None
    message: str


@dataclasses.dataclass
class ProtocolFile:
    filename: str
    protocols: list[ProtocolDefinition]
    errors: list[AnalysisError]
    schema_version: str = SCHEMA_VERSION
    script: Any = None  # protocols.scripts.ScriptDefinition: a file that builds machines itself

    def to_dict(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        # schema_version first: readers check it before anything else.
        return {"schema_version": document.pop("schema_version"), **document}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ProtocolFile:
        major = str(document.get("schema_version", "")).split(".")[0]
        if major != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"protocol analysis schema_version {document.get('schema_version')!r} "
                             f"is not readable by this version ({SCHEMA_VERSION})")
        protocols = []
        for entry in document["protocols"]:
            requirements = entry["requirements"]
            protocols.append(ProtocolDefinition(**{
                **entry,
                "parameters": [Parameter(**p) for p in entry["parameters"]],
                "requirements": Requirements(
                    machines=[MachineRequirement(**m) for m in requirements["machines"]],
                    resources=[ResourceRequirement(**r) for r in requirements["resources"]]),
                "data_views": [DataView(**v) for v in entry["data_views"]],
                "time_links": [TimeLinkSpec(**link) for link in entry.get("time_links") or []],
            }))
        script = None
        if document.get("script"):
            from .scripts import ScriptDefinition, ScriptMachine, ScriptResource

            script = ScriptDefinition(
                entry=document["script"]["entry"],
                machines=[ScriptMachine(**m) for m in document["script"]["machines"]],
                resources=[ScriptResource(**r) for r in document["script"]["resources"]])
        return cls(filename=document["filename"], protocols=protocols,
                   errors=[AnalysisError(**e) for e in document["errors"]],
                   schema_version=document["schema_version"], script=script)
