"""Area ``library``: the page's protocol files, their autosaved drafts and saved versions."""

from __future__ import annotations

from typing import Any

from browser_runtime.page.session import PageSession

__all__ = ["files", "open_file", "create", "copy_demo", "save_draft", "save_version", "versions", "diff",
           "restore", "rename", "duplicate", "delete"]


def files(session: PageSession) -> list[dict[str, Any]]:
    return session.library.list()


def open_file(session: PageSession, file_id: int) -> dict[str, Any]:
    return session.library.get(file_id)


def create(session: PageSession, name: str, source: str = "", origin: str = "new") -> dict[str, Any]:
    """A new file (``origin``: new, upload or paste); a name already taken gets a number."""
    if origin not in ("new", "upload", "paste"):
        raise ValueError(f"origin must be new, upload or paste, not {origin!r}")
    return session.library.create(session.library.free_name(name), source, origin)


def copy_demo(session: PageSession, demo: str, source: str) -> dict[str, Any]:
    """The editable copy of a demo protocol (the demo itself never changes): the existing one if
    there is one, else a new copy of ``source``."""
    for entry in session.library.list():
        if entry["origin"] == f"demo:{demo}":
            return session.library.get(entry["id"])
    return session.library.create(session.library.free_name(demo), source, f"demo:{demo}")


def save_draft(session: PageSession, file_id: int, source: str, revision: int | None = None) -> dict[str, Any]:
    return session.library.save_draft(file_id, source, revision)


def save_version(session: PageSession, file_id: int, label: str | None = None) -> dict[str, Any]:
    return session.library.save_version(file_id, label)


def versions(session: PageSession, file_id: int) -> list[dict[str, Any]]:
    return session.library.versions(file_id)


def diff(session: PageSession, file_id: int, older: int | None = None, newer: int | None = None) -> str:
    return session.library.diff(file_id, older, newer)


def restore(session: PageSession, file_id: int, number: int) -> dict[str, Any]:
    return session.library.restore(file_id, number)


def rename(session: PageSession, file_id: int, name: str) -> dict[str, Any]:
    return session.library.rename(file_id, name)


def duplicate(session: PageSession, file_id: int, name: str | None = None) -> dict[str, Any]:
    return session.library.duplicate(file_id, name)


def delete(session: PageSession, file_id: int) -> dict[str, Any]:
    return session.library.delete(file_id)
