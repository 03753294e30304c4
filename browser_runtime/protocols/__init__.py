"""Protocol planning: @protocol_function metadata and the static (LibCST) analysis of protocol files."""

from .analysis import analyze_file, analyze_source, default_catalog
from .capabilities import capabilities_for, capability_for
from .decorator import (
    DataViewDefinition,
    ProtocolMetadata,
    TimeLink,
    get_protocol_metadata,
    protocol_function,
)
from .schema import (
    SCHEMA_VERSION,
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
from .visitors import ProtocolFunctionVisitor, ProtocolRequirementExtractor

__all__ = [
    "SCHEMA_VERSION",
    "AnalysisError",
    "DataView",
    "DataViewDefinition",
    "MachineRequirement",
    "Parameter",
    "ProtocolDefinition",
    "ProtocolFile",
    "ProtocolFunctionVisitor",
    "ProtocolMetadata",
    "ProtocolRequirementExtractor",
    "Requirements",
    "ResourceRequirement",
    "TimeLink",
    "TimeLinkSpec",
    "analyze_file",
    "analyze_source",
    "capabilities_for",
    "capability_for",
    "default_catalog",
    "get_protocol_metadata",
    "protocol_function",
]
