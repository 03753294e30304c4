"""PLR definitions catalog: LibCST discovery of machines, backends and resources plus exact geometry."""

from .build import BuildReport, BuildResult, build, build_catalog
from .lookup import Catalog
from .names import snake_case
from .parser import PARSER_VERSION, PLRSourceParser
from .schema import JSON_SCHEMA, SCHEMA_VERSION

__all__ = [
    "JSON_SCHEMA",
    "PARSER_VERSION",
    "SCHEMA_VERSION",
    "BuildReport",
    "BuildResult",
    "Catalog",
    "PLRSourceParser",
    "build",
    "build_catalog",
    "snake_case",
]
