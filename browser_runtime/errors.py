"""The root of every error Labwright raises on purpose, and the kinds every domain shares.

Each domain keeps its own classes (``ScheduleError``, ``RequestError``, ``PlanError``,
``InventoryError``, ``CatalogNotLoaded``, ``WebBridgeError`` ...), all under
:class:`LabwrightError`, so a caller (the page's worker door, the bridge server) can tell "the
input or the lab said no" from a bug with one ``except``. :class:`NotFound` marks "the thing
named does not exist", which the bridge server answers with 404 whatever the domain.
"""

from __future__ import annotations


class LabwrightError(Exception):
    """An error Labwright raises on purpose: what went wrong and where, in its message."""


class NotFound(LabwrightError, LookupError):
    """Something named (a run, a workcell, an asset, a reservation) does not exist."""


__all__ = ["LabwrightError", "NotFound"]
