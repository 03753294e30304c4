"""Labwright's bridge server: the lab PC's half (static page, definitions, hardware, REPL)."""

from bridge_server.app import create_app
from bridge_server.settings import Settings

__all__ = ["Settings", "create_app"]
