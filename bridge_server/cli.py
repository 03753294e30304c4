"""The ``labwright`` command line: ``serve`` and the tools later issues add."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from bridge_server.data_dir import DataDirInUse, lock_data_dir
from bridge_server.database import DatabaseError, redacted
from bridge_server.settings import DEFAULT_HOST, DEFAULT_PORT, LOOPBACK_HOSTS, Settings


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir,
                                     connection_ttl=args.connection_ttl,
                                     allowed_hosts=tuple(args.allowed_host) if args.allowed_host else None,
                                     database_url=args.database_url, node=args.node,
                                     public_url=args.public_url, webhook_url=args.webhook_url)
        database = settings.database
    except DatabaseError as exc:
        print(f"labwright: {exc}", file=sys.stderr)
        return 2
    # Bind before anything else: a busy port must be reported at once, not after start-up.
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"labwright: port {settings.port} on {settings.host} is already in use; "
                "stop the other server or pass --port",
                file=sys.stderr,
            )
        else:
            print(f"labwright: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    try:
        lock = lock_data_dir(settings.data_dir)  # noqa: F841 - held until the process ends
    except (DataDirInUse, OSError) as exc:
        sock.close()
        reason = exc if isinstance(exc, DataDirInUse) else f"cannot lock the data dir {settings.data_dir}: {exc}"
        print(f"labwright: {reason}", file=sys.stderr)
        return 1
    if settings.host not in LOOPBACK_HOSTS:
        print(
            f"labwright: WARNING: listening on {settings.host}, reachable from other machines; "
            f"requests must name it as one of {', '.join(sorted(settings.allowed_host_headers))} "
            "(add the names the lab uses with --allowed-host)",
            file=sys.stderr,
        )
    import uvicorn

    from bridge_server.app import create_app

    if not (settings.wheels_dir / "manifest.json").exists():
        print(
            "labwright: WARNING: the page's assets are not built; run `python3 scripts/setup.py`",
            file=sys.stderr,
        )
    app = create_app(settings)
    try:  # migrate (or refuse) before serving anything, with the reason on stderr
        app.state.bridge.open_database()
    except DatabaseError as exc:
        sock.close()
        print(f"labwright: {exc}", file=sys.stderr)
        return 1
    print(f"Labwright is serving at {settings.start_url}", flush=True)
    print(f"labwright: data in {settings.data_dir}, the lab's database at {redacted(database)} "
          f"(this PC is {settings.node!r}); the token in the URL grants every API call, including "
          "running Python on this machine", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level=args.log_level, access_log=args.log_level == "debug")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _add_serve(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("serve", help="serve the page and the bridge API")
    parser.add_argument("--host", default=None, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=None, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where state lives (default: a per-user data directory)")
    parser.add_argument("--connection-ttl", type=float, default=None, metavar="SECONDS",
                        help="seconds a connection lease lives without a heartbeat (default 120)")
    parser.add_argument("--allowed-host", action="append", default=None, metavar="NAME[:PORT]",
                        help="a name this server may be reached by besides its address (repeatable; "
                             "LABWRIGHT_ALLOWED_HOSTS); needed for a non-loopback --host")
    parser.add_argument("--database-url", default=None, metavar="URL",
                        help="the lab's database: sqlite:///PATH (default: the data dir's file) or "
                             "postgresql://USER@HOST[:PORT]/DB for several lab PCs on one database "
                             "(LABWRIGHT_DATABASE_URL)")
    parser.add_argument("--node", default=None, metavar="NAME",
                        help="this lab PC's name among the lab's servers (default: the host name; "
                             "LABWRIGHT_NODE)")
    parser.add_argument("--public-url", default=None, metavar="URL",
                        help="where the lab's other PCs reach this server, e.g. http://pc-a.lab:8765 "
                             "(default: its own address; LABWRIGHT_PUBLIC_URL)")
    parser.add_argument("--webhook-url", default=None, metavar="URL",
                        help="post alerts (a hardware run failed or waits for the operator) here as JSON")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    parser.set_defaults(handler=serve)


#: Subcommands owned by browser_runtime: (module, arguments put before the user's).
_DELEGATES = {
    "catalog": ("browser_runtime.catalog.cli", [], "build and inspect the PLR definitions catalog"),
    "analyze": ("browser_runtime.protocols.cli", ["analyze"], "analyse a protocol file"),
    "deck": ("browser_runtime.deck.cli", [], "load, validate and lay out decks"),
}


def _delegate(command: str, argv: list[str]) -> int:
    import importlib

    module_name, prefix, _ = _DELEGATES[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"labwright {command}: not available in this version ({module_name} is missing)",
                  file=sys.stderr)
            return 2
        raise
    return int(module.main([*prefix, *argv]) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in _DELEGATES:
        return _delegate(argv[0], argv[1:])
    parser = argparse.ArgumentParser(prog="labwright", description="PyLabRobot in the browser.")
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    commands = parser.add_subparsers(dest="command")
    _add_serve(commands)
    for name, (_, _, summary) in _DELEGATES.items():
        commands.add_parser(name, help=summary, add_help=False)
    args = parser.parse_args(argv)
    if args.version:
        import browser_runtime

        print(f"labwright {browser_runtime.__version__}")
        return 0
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
