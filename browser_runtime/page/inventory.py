"""Area ``inventory``: the page's own inventory as the user keeps it: items with their lots, expiry,
contents and open reservations; add labware of a catalog type, edit an item, retire one.

(The lab's inventory, when the page is connected to a bridge server, is the server's: the page
reads it through the bridge client; these edit the page's own.)
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time
from typing import Any

from browser_runtime.inventory.store import InventoryError
from browser_runtime.page.session import PageSession
from browser_runtime.runner.events import jsonable

__all__ = ["items", "add_labware", "update", "retire"]

OPEN = ("held", "active")


def _when(value: Any, field: str) -> datetime | None:
    """An ISO date (end of that day, UTC) or date-time (with a zone; UTC if none) from the page."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InventoryError(f"{field}: must be a date like 2027-01-31, not {value!r}")
    try:
        if len(value) == 10:
            return datetime.combine(datetime.fromisoformat(value).date(), time(23, 59, 59), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InventoryError(f"{field}: {value!r} is not a date (like 2027-01-31)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def items(session: PageSession, include_retired: bool = False) -> list[dict[str, Any]]:
    """Every item with its open reservations (run, window), newest last."""
    inventory = session.inventory
    reserved: dict[int, list[dict[str, Any]]] = {}
    for status in OPEN:
        for reservation in inventory.reservations(status=status):
            reserved.setdefault(reservation.asset_id, []).append({
                "run_id": reservation.run_id, "status": reservation.status,
                "starts_at": reservation.window.starts_at.isoformat(), "ends_at": reservation.window.ends_at.isoformat()})
    found = []
    for asset in inventory.assets():
        if asset.status == "retired" and not include_retired:
            continue
        found.append({**jsonable(dataclasses.asdict(asset)), "reservations": reserved.get(asset.id, [])})
    return found


def add_labware(session: PageSession, name: str, catalog_fqn: str, lot: str | None = None,
                expires_at: str | None = None, remaining_volume_ul: float | None = None,
                remaining_tips: int | None = None, barcode: str | None = None,
                location: str | None = None) -> dict[str, Any]:
    """A new labware item of a catalog resource type."""
    if not isinstance(catalog_fqn, str) or session.catalog.section_of(catalog_fqn) != "resources":
        raise InventoryError(f"catalog_fqn: {catalog_fqn!r} is not labware in the catalog (search it in the PLR catalog)")
    if not isinstance(name, str) or not name.strip():
        raise InventoryError("name: give the item a name")
    asset_id = session.inventory.add_labware(
        name.strip(), session.catalog.canonical(catalog_fqn), barcode=barcode or None, location=location or None,
        lot=lot or None, expires_at=_when(expires_at, "expires_at"), remaining_volume_ul=remaining_volume_ul,
        remaining_tips=remaining_tips, received_at=datetime.now(UTC))
    return jsonable(dataclasses.asdict(session.inventory.asset(asset_id)))


def update(session: PageSession, asset_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change an item (only the fields given); dates as ISO text."""
    if not isinstance(changes, dict) or not changes:
        raise InventoryError("changes: say what to change, e.g. {\"lot\": \"L42\"}")
    values = {key: (_when(value, key) if key.endswith("_at") else value) for key, value in changes.items()}
    return jsonable(dataclasses.asdict(session.inventory.update_labware(asset_id, **values)))


def retire(session: PageSession, asset_id: int) -> dict[str, Any]:
    """The item is not used any more (kept for the record); refused while a run holds it."""
    held = [r for status in OPEN for r in session.inventory.reservations(status=status, asset_id=asset_id)]
    if held:
        runs = ", ".join(sorted({r.run_id for r in held}))
        raise InventoryError(f"asset {asset_id} is reserved by run {runs}: retire it when the run has ended")
    session.inventory.set_status(asset_id, "retired")
    return jsonable(dataclasses.asdict(session.inventory.asset(asset_id)))
