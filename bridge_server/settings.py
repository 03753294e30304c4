"""Server settings: one object, built from the command line and the environment."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

#: The repository root: where web/, build/pyodide and wheels/dist live in a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_CONNECTION_TTL = 120.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Binding these listens on every address, loopback included.
WILDCARD_HOSTS = ("0.0.0.0", "::", "")

#: Service types the continuous mDNS browser watches by default: Opentrons robots announce
#: ``_http._tcp`` (port 31950) and ``_opentrons._tcp``; SiLA 2 servers ``_sila._tcp``.
DEFAULT_MDNS_TYPES = ("_http._tcp.local.", "_opentrons._tcp.local.", "_sila._tcp.local.")


def default_data_dir() -> Path:
    """A per-user data directory (XDG on Linux, the usual places elsewhere)."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "labwright"


def _mebibytes(value: str) -> int:
    return int(float(value) * 2**20)


#: Limits settable from the environment: (variable, setting, parse).
_LIMITS = (
    ("LABWRIGHT_REPL_MEMORY_MB", "repl_memory_limit", _mebibytes),
    ("LABWRIGHT_REPL_MAX_SESSIONS", "repl_max_sessions", int),
    ("LABWRIGHT_REPL_OUTPUT_LIMIT", "repl_output_limit", int),
    ("LABWRIGHT_ESTIMATE_TIME_LIMIT", "estimate_time_limit", float),
    ("LABWRIGHT_ESTIMATE_MEMORY_MB", "estimate_memory_limit", _mebibytes),
    ("LABWRIGHT_ESTIMATE_WORKERS", "estimate_workers", int),
)


def _host_values(name: str, port: int) -> set[str]:
    """``name`` as a ``Host`` header carries it: with ``port`` unless it names its own."""
    name = name.strip().lower()
    if name.startswith("["):  # [v6] or [v6]:port
        if "]:" in name:
            return {name}
        bare = name
    elif name.count(":") > 1:  # a bare IPv6 address
        bare = f"[{name}]"
    elif ":" in name:  # name:port
        return {name}
    else:
        bare = name
    return {f"{bare}:{port}"} | ({bare} if port == 80 else set())


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(",", os.pathsep).split(os.pathsep) if part.strip())


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    web_dir: Path = PROJECT_ROOT / "web"
    pyodide_dir: Path = PROJECT_ROOT / "build" / "pyodide"
    wheels_dir: Path = PROJECT_ROOT / "wheels" / "dist"
    #: Origins besides the server's own allowed for CORS and WebSockets (never ``*``).
    extra_origins: tuple[str, ...] = field(default_factory=tuple)
    data_dir: Path = field(default_factory=default_data_dir)
    #: Seconds a lease lives without a heartbeat.
    connection_ttl: float = DEFAULT_CONNECTION_TTL
    #: The bearer token; a fresh random one per start unless given.
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 64 * 1024
    #: A prebuilt catalog (with geometry) used as is when present.
    prebuilt_catalog: Path = PROJECT_ROOT / "build" / "catalog" / "catalog.json"
    #: Extra source roots (the lab's own labware and backends) parsed into the catalog.
    catalog_sources: tuple[Path, ...] = field(default_factory=tuple)
    #: LibCST's per-file parse cache; default ``<data_dir>/catalog-cache``.
    catalog_cache_dir: Path | None = None
    #: Build the catalog at start-up (tests of unrelated endpoints may turn this off).
    load_catalog: bool = True
    #: Extra glob patterns of serial port paths listed besides pyserial's (ptys, symlinks).
    serial_globs: tuple[str, ...] = field(default_factory=tuple)
    #: Run the continuous mDNS browser.
    mdns: bool = True
    #: Addresses mDNS listens on; empty means every interface.
    mdns_interfaces: tuple[str, ...] = field(default_factory=tuple)
    #: Extra service types to browse (Tecan, Hamilton, Beckman, Agilent devices ...).
    mdns_extra_types: tuple[str, ...] = field(default_factory=tuple)
    #: Seconds one REPL statement may run before it is interrupted.
    repl_time_limit: float = 30.0
    #: Address space one REPL process may use, in bytes.
    repl_memory_limit: int = 2 * 2**30
    #: REPL sessions (processes) alive at once; one more is refused with 503.
    repl_max_sessions: int = 8
    #: Characters of output (and of a result's repr) one REPL statement may produce; the rest is
    #: dropped with a note saying so.
    repl_output_limit: int = 1_000_000
    #: Seconds the scheduler's estimate of one submitted protocol may take.
    estimate_time_limit: float = 30.0
    #: Address space one estimate process may use, in bytes.
    estimate_memory_limit: int = 2**30
    #: Estimates running at once (each in its own process); more wait.
    estimate_workers: int = 2
    #: Host names (``name`` or ``name:port``) besides the bound address that requests may carry in
    #: ``Host``; needed when binding a non-loopback address (the names the lab uses for this PC).
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    #: The lab's database: ``sqlite:///PATH`` or ``postgresql://...``; default the data dir's SQLite file.
    database_url: str | None = None
    #: This lab PC's name among the lab's servers (unique per lab); default the host name.
    node: str = field(default_factory=socket.gethostname)
    #: Where pages of the lab's other PCs reach this server (its origin); default ``origin``.
    public_url: str | None = None
    #: Where alerts (a hardware run failed, or waits for the operator) are posted as JSON; none: not posted.
    webhook_url: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {}
        if "LABWRIGHT_HOST" in env:
            values["host"] = env["LABWRIGHT_HOST"]
        if "LABWRIGHT_PORT" in env:
            values["port"] = int(env["LABWRIGHT_PORT"])
        if env.get("LABWRIGHT_DATA_DIR"):
            values["data_dir"] = Path(env["LABWRIGHT_DATA_DIR"])
        if env.get("LABWRIGHT_CONNECTION_TTL"):
            values["connection_ttl"] = float(env["LABWRIGHT_CONNECTION_TTL"])
        if env.get("LABWRIGHT_TOKEN"):
            values["token"] = env["LABWRIGHT_TOKEN"]
        if env.get("LABWRIGHT_ALLOWED_ORIGINS"):
            values["extra_origins"] = _split(env["LABWRIGHT_ALLOWED_ORIGINS"])
        if env.get("LABWRIGHT_SERIAL_GLOBS"):
            values["serial_globs"] = _split(env["LABWRIGHT_SERIAL_GLOBS"])
        if env.get("LABWRIGHT_MDNS_INTERFACES"):
            values["mdns_interfaces"] = _split(env["LABWRIGHT_MDNS_INTERFACES"])
        if env.get("LABWRIGHT_MDNS_TYPES"):
            values["mdns_extra_types"] = _split(env["LABWRIGHT_MDNS_TYPES"])
        if env.get("LABWRIGHT_MDNS") in ("0", "off", "false"):
            values["mdns"] = False
        if env.get("LABWRIGHT_REPL_TIME_LIMIT"):
            values["repl_time_limit"] = float(env["LABWRIGHT_REPL_TIME_LIMIT"])
        for name, key, cast in _LIMITS:
            if env.get(name):
                values[key] = cast(env[name])
        if env.get("LABWRIGHT_ALLOWED_HOSTS"):
            values["allowed_hosts"] = _split(env["LABWRIGHT_ALLOWED_HOSTS"])
        if env.get("LABWRIGHT_CATALOG_SOURCES"):
            values["catalog_sources"] = tuple(Path(p) for p in _split(env["LABWRIGHT_CATALOG_SOURCES"]))
        if env.get("LABWRIGHT_CATALOG_CACHE"):
            values["catalog_cache_dir"] = Path(env["LABWRIGHT_CATALOG_CACHE"])
        if env.get("LABWRIGHT_CATALOG"):
            values["prebuilt_catalog"] = Path(env["LABWRIGHT_CATALOG"])
        if env.get("LABWRIGHT_DATABASE_URL"):
            values["database_url"] = env["LABWRIGHT_DATABASE_URL"]
        if env.get("LABWRIGHT_NODE"):
            values["node"] = env["LABWRIGHT_NODE"]
        if env.get("LABWRIGHT_PUBLIC_URL"):
            values["public_url"] = env["LABWRIGHT_PUBLIC_URL"]
        if env.get("LABWRIGHT_WEBHOOK_URL"):
            values["webhook_url"] = env["LABWRIGHT_WEBHOOK_URL"]
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The server's own origin (under each loopback name when bound to loopback) plus extras."""
        own = {self.origin, self.lab_url}
        if self.host in LOOPBACK_HOSTS:
            own |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}",
                    f"http://[::1]:{self.port}"}
        return tuple(sorted(own)) + tuple(o for o in self.extra_origins if o not in own and o != "*")

    @property
    def allowed_host_headers(self) -> frozenset[str]:
        """The ``Host`` values this server answers (lower case, ``name:port``).

        Its bound address and port; every loopback name when it listens on loopback (or on every
        address, which includes loopback); and the names in ``allowed_hosts``. Anything else is a
        page that reached this server under a foreign name (DNS rebinding) and is refused.
        """
        names = _host_values(self.host, self.port)
        if self.host in LOOPBACK_HOSTS or self.host in WILDCARD_HOSTS:
            for name in LOOPBACK_HOSTS:
                names |= _host_values(name, self.port)
        for name in self.allowed_hosts:
            names |= _host_values(name, self.port)
        if self.public_url:  # the name the lab's other PCs use for this one
            from urllib.parse import urlsplit

            names |= _host_values(urlsplit(self.public_url).netloc, self.port)
        return frozenset(names)

    @property
    def start_url(self) -> str:
        return f"{self.origin}/#token={self.token}"

    @property
    def database(self) -> str:
        """The SQLAlchemy URL of the lab's database (``--database-url``, else the data dir's file)."""
        from bridge_server.database import database_url

        return database_url(self.database_url, self.data_dir)

    @property
    def lab_url(self) -> str:
        """This server's origin as the lab's other PCs (and their pages) reach it."""
        return (self.public_url or self.origin).rstrip("/")
