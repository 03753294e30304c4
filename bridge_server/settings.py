"""Server settings: one object, built from the command line and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The repository root: where web/, build/pyodide and wheels/dist live in a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    web_dir: Path = PROJECT_ROOT / "web"
    pyodide_dir: Path = PROJECT_ROOT / "build" / "pyodide"
    wheels_dir: Path = PROJECT_ROOT / "wheels" / "dist"
    extra_origins: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        values: dict[str, object] = {}
        if "LABWRIGHT_HOST" in os.environ:
            values["host"] = os.environ["LABWRIGHT_HOST"]
        if "LABWRIGHT_PORT" in os.environ:
            values["port"] = int(os.environ["LABWRIGHT_PORT"])
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"
