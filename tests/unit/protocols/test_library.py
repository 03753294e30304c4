"""The protocol library: drafts saved as typed, versions with diffs, demos copied, nothing lost."""

from __future__ import annotations

import pytest

from browser_runtime.page import library
from browser_runtime.page.session import PageSession
from browser_runtime.protocols.library import LibraryError
from browser_runtime.storage import Database


def test_a_draft_survives_a_reload_as_typed(page_session):
    made = library.create(page_session, "mine.py", "x = 1\n")
    for text in ("x = 1\ny", "x = 1\ny =", "x = 1\ny = 2\n"):
        saved = library.save_draft(page_session, made["id"], text)
    assert saved["revision"] == 3
    again = PageSession.open(Database.in_memory(page_session.database.image()))  # the page reloaded
    assert library.open_file(again, made["id"])["source"] == "x = 1\ny = 2\n"


def test_versions_and_the_diff_between_them(page_session):
    made = library.create(page_session, "assay.py", "a = 1\n")
    assert library.save_version(page_session, made["id"], "first")["number"] == 1
    library.save_draft(page_session, made["id"], "a = 2\nb = 3\n")
    assert library.save_version(page_session, made["id"])["number"] == 2
    assert library.save_version(page_session, made["id"]) == {"number": 2, "new": False}  # unchanged
    diff = library.diff(page_session, made["id"], 1, 2)
    assert "-a = 1" in diff and "+a = 2" in diff and "+b = 3" in diff
    library.save_draft(page_session, made["id"], "a = 4\n")
    restored = library.restore(page_session, made["id"], 1)
    assert restored == {"restored": 1, "kept_draft_as": 3}  # the draft it replaced is a version now
    assert library.open_file(page_session, made["id"])["source"] == "a = 1\n"
    assert library.diff(page_session, made["id"], 3)  # the kept draft differs from the restored one


def test_a_demo_opens_as_a_copy_that_is_reused(page_session):
    first = library.copy_demo(page_session, "serial_dilution.py", "demo source\n")
    library.save_draft(page_session, first["id"], "changed\n")
    again = library.copy_demo(page_session, "serial_dilution.py", "demo source\n")
    assert again["id"] == first["id"] and again["source"] == "changed\n"


def test_names_rename_duplicate_delete(page_session):
    one = library.create(page_session, "p.py", "x\n")
    two = library.create(page_session, "p.py", "y\n")
    assert two["name"] == "p (2).py"
    with pytest.raises(LibraryError, match="exists already"):
        library.rename(page_session, two["id"], "p.py")
    assert library.rename(page_session, two["id"], "q.py")["name"] == "q.py"
    copy = library.duplicate(page_session, one["id"])
    assert copy["name"] == "p (2).py" and copy["source"] == "x\n" and copy["origin"] == "copy:p.py"
    assert library.delete(page_session, one["id"]) == {"deleted": "p.py"}
    with pytest.raises(LibraryError, match="no protocol file"):
        library.open_file(page_session, one["id"])
    with pytest.raises(LibraryError, match="without slashes"):
        library.create(page_session, "../evil.py")


def test_a_draft_changed_elsewhere_is_not_written_over(page_session):
    made = library.create(page_session, "shared.py", "v1\n")
    library.save_draft(page_session, made["id"], "v2 from another editor\n", revision=0)
    with pytest.raises(LibraryError, match="changed elsewhere"):
        library.save_draft(page_session, made["id"], "v2 from this editor\n", revision=0)
