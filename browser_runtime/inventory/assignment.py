"""ConsumableAssignmentService: hard constraints, then cost, then scores, in one optimal batch assignment.

Among the items that meet every hard constraint, the batch goes first to the cheapest total
(an item type's cost per item, per tip or per uL drawn, from ``InventoryStore.set_cost``),
then to the best total score (first-expiring-first-out, one lot, tight fit, nearby); each
choice's reasons say what it costs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from .matching import greedy_assignment, max_weight_assignment
from .models import (
    Asset,
    Assignment,
    AssignmentPlan,
    ConsumableRequirement,
    LabwareCost,
    NearMiss,
    TimeWindow,
)
from .store import InventoryStore, Reservation, ReservationConflict, utcnow

DEFAULT_WEIGHTS = {"fefo": 1.0, "same_lot": 0.5, "capacity_fit": 1.0, "proximity": 0.5}
# Where an item sits (first segment of its location, "deck/3" -> "deck"): nearer is better.
DEFAULT_PROXIMITY = {"deck": 1.0, "bench": 0.75, "fridge": 0.5, "cold_room": 0.4, "storage": 0.25}
_FEFO_HORIZON_DAYS = 365.0
_NEAR_MISSES = 3


@dataclasses.dataclass
class _Item:
    """An inventory item with what the constraints and scores need, computed once."""

    asset: Asset
    fqn: str | None  # canonical catalog fqn
    category: str | None
    max_volume: float | None
    tip_volume: float | None
    blocked_by: list[str]
    proximity: float
    price: LabwareCost | None = None


@dataclasses.dataclass
class _Need:
    """A requirement's constraint signature: requirements with equal ones share all the work."""

    category: str | None
    fqn: str | None  # exact labware, when the requirement names a factory
    min_well_volume_ul: float
    volume_ul: float
    tips: int

    def key(self) -> tuple:
        return (self.category, self.fqn, self.min_well_volume_ul, self.volume_ul, self.tips)


class ConsumableAssignmentService:
    """Chooses inventory items for a run's labware requirements and reserves them atomically."""

    def __init__(self, store: InventoryStore, catalog: Any, *, weights: dict[str, float] | None = None,
                 proximity: dict[str, float] | None = None) -> None:
        self.store = store
        self.catalog = catalog
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.proximity = dict(DEFAULT_PROXIMITY if proximity is None else proximity)
        self._entries: dict[str, dict | None] = {}

    # ---- facts ------------------------------------------------------------------------------

    def _entry(self, fqn: str | None) -> dict | None:
        if fqn is None:
            return None
        if fqn not in self._entries:
            self._entries[fqn] = self.catalog.get(fqn)
        return self._entries[fqn]

    def _items(self, window: TimeWindow, now: datetime) -> list[_Item]:
        blocked = self.store.reserved_in(window, now)
        prices = self.store.costs()
        items = []
        for asset in self.store.assets(kind="labware"):
            entry = self._entry(asset.catalog_fqn) or {}
            geometry = entry.get("geometry") or {}
            location = (asset.location or "").split("/")[0]
            items.append(_Item(asset, entry.get("fqn"), entry.get("category"),
                               geometry.get("max_volume"), geometry.get("tip_max_volume"),
                               blocked.get(asset.id, []), self.proximity.get(location, 0.0),
                               prices.get(asset.catalog_fqn) or prices.get(entry.get("fqn") or "")))
        return items

    @staticmethod
    def _cost(need: _Need, item: _Item) -> tuple[float, str]:
        if item.price is None:
            return 0.0, "no cost recorded for its type"
        return item.price.of(need.tips, need.volume_ul), item.price.describe(need.tips, need.volume_ul)

    def _need(self, requirement: ConsumableRequirement) -> _Need:
        entry = self._entry(requirement.type)
        if requirement.type and entry is None:
            raise ValueError(f"requirement {requirement.name!r}: type {requirement.type!r} is not "
                             "in the catalog")
        exact = entry["fqn"] if entry and entry.get("kind") == "factory" else None
        category = requirement.category or (entry or {}).get("category")
        for field in ("min_well_volume_ul", "volume_ul", "tips"):
            if getattr(requirement, field) < 0:
                raise ValueError(f"requirement {requirement.name!r}: {field} cannot be negative")
        return _Need(category, exact, requirement.min_well_volume_ul, requirement.volume_ul,
                     requirement.tips)

    @staticmethod
    def _excluded_by(need: _Need, item: _Item, window: TimeWindow) -> list[str]:
        """Every hard constraint ``item`` fails for ``need``, in words (empty: a candidate)."""
        asset, failed = item.asset, []
        if asset.status != "available":
            failed.append(f"status is {asset.status}")
        if need.fqn is not None and item.fqn != need.fqn:
            failed.append(f"is {_short(item.fqn or asset.catalog_fqn)}, not {_short(need.fqn)}")
        elif need.category is not None and item.category != need.category:
            failed.append(f"is a {item.category or 'resource unknown to the catalog'}, not a {need.category}")
        if need.min_well_volume_ul:
            capacity = item.tip_volume if item.category == "tip_rack" else item.max_volume
            if capacity is None or capacity < need.min_well_volume_ul:
                failed.append(f"holds {capacity if capacity is not None else 'an unknown'} uL per "
                              f"{'tip' if item.category == 'tip_rack' else 'well'}, needs "
                              f"{need.min_well_volume_ul:g} uL")
        if need.volume_ul and (asset.remaining_volume_ul or 0) < need.volume_ul:
            failed.append(f"has {asset.remaining_volume_ul or 0:g} uL left, needs {need.volume_ul:g} uL")
        if need.tips and (asset.remaining_tips or 0) < need.tips:
            failed.append(f"has {asset.remaining_tips or 0} tips left, needs {need.tips}")
        if asset.expires_at is not None and asset.expires_at <= window.ends_at:
            failed.append(f"expires {asset.expires_at.date().isoformat()}, before the run ends")
        failed.extend(f"reserved: {holder}" for holder in item.blocked_by)
        return failed

    def _score(self, need: _Need, item: _Item, preferred_lot: str | None,
               now: datetime) -> tuple[float, dict[str, float], list[str]]:
        asset, w = item.asset, self.weights
        reasons = []
        fefo = 0.0
        if asset.expires_at is not None:
            days = max(0.0, (asset.expires_at - now).total_seconds() / 86400)
            fefo = 1.0 - min(days, _FEFO_HORIZON_DAYS) / _FEFO_HORIZON_DAYS
            reasons.append(f"expires {asset.expires_at.date().isoformat()} ({days:.0f} days)")
        same_lot = 1.0 if preferred_lot is not None and asset.lot == preferred_lot else 0.0
        if same_lot:
            reasons.append(f"lot {asset.lot}, the run's lot for this labware")
        fits = []
        if need.min_well_volume_ul:
            capacity = item.tip_volume if item.category == "tip_rack" else item.max_volume
            fits.append(need.min_well_volume_ul / capacity)
            reasons.append(f"{capacity:g} uL capacity for {need.min_well_volume_ul:g} uL")
        if need.volume_ul:
            fits.append(need.volume_ul / asset.remaining_volume_ul)
            reasons.append(f"{asset.remaining_volume_ul:g} uL left for {need.volume_ul:g} uL")
        if need.tips:
            fits.append(need.tips / asset.remaining_tips)
            reasons.append(f"{asset.remaining_tips} tips left for {need.tips}")
        capacity_fit = sum(fits) / len(fits) if fits else 0.0
        if item.proximity:
            reasons.append(f"at {asset.location}")
        breakdown = {"fefo": w["fefo"] * fefo, "same_lot": w["same_lot"] * same_lot,
                     "capacity_fit": w["capacity_fit"] * capacity_fit,
                     "proximity": w["proximity"] * item.proximity}
        return sum(breakdown.values()), breakdown, reasons

    # ---- assignment -------------------------------------------------------------------------

    def assign(self, requirements: Sequence[ConsumableRequirement], window: TimeWindow, *,
               now: datetime | None = None, strategy: str = "optimal") -> AssignmentPlan:
        """Choose one item per requirement, never one item twice, best total score.

        ``strategy="greedy"`` (first come, first served) exists only as the benchmark's baseline.
        """
        now = now or utcnow()
        names = [r.name for r in requirements]
        if len(set(names)) != len(names):
            raise ValueError("requirement names must be unique: " + ", ".join(
                sorted({n for n in names if names.count(n) > 1})))
        items = self._items(window, now)
        by_fqn: dict[str | None, list[_Item]] = {}
        by_category: dict[str | None, list[_Item]] = {}
        for item in items:
            by_fqn.setdefault(item.fqn, []).append(item)
            by_category.setdefault(item.category, []).append(item)

        needs = [self._need(r) for r in requirements]
        signatures: dict[tuple, _Need] = {n.key(): n for n in needs}
        pools = {key: (by_fqn.get(n.fqn, []) if n.fqn else by_category.get(n.category, [])
                       if n.category else items) for key, n in signatures.items()}
        feasible = {key: [i for i in pools[key] if not self._excluded_by(n, i, window)]
                    for key, n in signatures.items()}

        # One lot per labware kind across the run: the lot most of the candidates share.
        lots: dict[tuple, dict[str, set[int]]] = {}
        for key, n in signatures.items():
            group = lots.setdefault((n.category, n.fqn), {})
            for item in feasible[key]:
                if item.asset.lot:
                    group.setdefault(item.asset.lot, set()).add(item.asset.id)
        preferred = {group: min(found, key=lambda lot: (-len(found[lot]), lot)) if found else None
                     for group, found in lots.items()}

        # Cost comes before score: a weight is (how much cheaper than the dearest) x (more than
        # any batch's whole score) + score, so the optimal matching is the cheapest batch and,
        # among equally cheap ones, the best scored.
        costs = {key: {item.asset.id: self._cost(n, item)[0] for item in feasible[key]}
                 for key, n in signatures.items()}
        dearest = max((c for by_item in costs.values() for c in by_item.values()), default=0.0)
        lift = (sum(self.weights.values()) + 1.0) * max(len(needs), 1)
        scored: dict[tuple, list[tuple[float, _Item]]] = {}
        for key, n in signatures.items():
            lot = preferred[(n.category, n.fqn)]
            ranked = [((dearest - costs[key][item.asset.id]) * lift + self._score(n, item, lot, now)[0], item)
                      for item in feasible[key]]
            ranked.sort(key=lambda pair: (-pair[0], pair[1].asset.id))
            scored[key] = ranked

        rows_per_component = self._component_sizes(needs, feasible)
        rows = []
        for need in needs:
            # Keeping a row's best k candidates, k = rows that can compete for them, is exact.
            k = rows_per_component[need.key()]
            rows.append([(item.asset.id, weight) for weight, item in scored[need.key()][:k]])
        chosen = (max_weight_assignment(rows) if strategy == "optimal" else greedy_assignment(rows))

        by_id = {item.asset.id: item for item in items}
        assignments = []
        for requirement, need, asset_id in zip(requirements, needs, chosen):
            key = need.key()
            if asset_id is None:
                assignments.append(self._unassigned(requirement, need, pools[key], feasible[key],
                                                    window, items))
                continue
            item = by_id[asset_id]
            score, breakdown, reasons = self._score(need, item, preferred[(need.category, need.fqn)], now)
            price, why = self._cost(need, item)
            assignments.append(Assignment(requirement.name, asset_id, item.asset.name, score, breakdown,
                                          [why, *reasons], len(feasible[key]), cost=price))
        return AssignmentPlan(window, assignments)

    @staticmethod
    def _component_sizes(needs: list[_Need], feasible: dict[tuple, list[_Item]]) -> dict[tuple, int]:
        """For each signature, how many requirements share candidates with it (transitively)."""
        parent: dict[tuple, tuple] = {key: key for key in feasible}

        def find(key: tuple) -> tuple:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        owner: dict[int, tuple] = {}
        for key, items in feasible.items():
            for item in items:
                other = owner.setdefault(item.asset.id, key)
                if other != key:
                    parent[find(key)] = find(other)
        counts: dict[tuple, int] = {}
        for need in needs:
            root = find(need.key())
            counts[root] = counts.get(root, 0) + 1
        return {key: counts[find(key)] for key in feasible}

    def _unassigned(self, requirement: ConsumableRequirement, need: _Need, pool: list[_Item],
                    feasible: list[_Item], window: TimeWindow, items: list[_Item]) -> Assignment:
        if feasible:
            reasons = [f"all {len(feasible)} items that meet every constraint went to other "
                       "requirements of this run"]
            return Assignment(requirement.name, None, None, 0.0, {}, reasons, len(feasible))
        candidates = pool or items  # nothing of the kind at all: say why the rest do not do
        misses = sorted(((self._excluded_by(need, item, window), item) for item in candidates),
                        key=lambda pair: (len(pair[0]), pair[1].asset.id))
        near = [NearMiss(item.asset.id, item.asset.name, failed) for failed, item in misses[:_NEAR_MISSES]]
        what = _short(need.fqn) if need.fqn else (need.category or "labware")
        reasons = [f"no {what} in the inventory meets every constraint" if pool
                   else f"the inventory holds no {what}"]
        return Assignment(requirement.name, None, None, 0.0, {}, reasons, 0, near)

    def assign_and_reserve(self, run_id: str, requirements: Sequence[ConsumableRequirement],
                           window: TimeWindow, *, now: datetime | None = None) -> tuple[AssignmentPlan,
                                                                                         list[Reservation]]:
        """Assign, then reserve the whole plan in one transaction. An incomplete plan reserves
        nothing and raises ReservationConflict naming the requirements left without an item."""
        plan = self.assign(requirements, window, now=now)
        missing = [f"{a.requirement}: {'; '.join(a.reasons)}" for a in plan.assignments if not a.assigned]
        if missing:
            raise ReservationConflict(missing)
        return plan, self.store.reserve(run_id, plan.asset_ids(), window, now=now)

    # ---- machines ---------------------------------------------------------------------------

    def resolve_machines(self, requirements: Iterable[Any], window: TimeWindow, *,
                         now: datetime | None = None) -> list[Assignment]:
        """Registered machines for a protocol's machine requirements (``MachineRequirement`` or
        dicts with parameter, machine_kind, capabilities): the kind must match and the machine's
        capabilities must cover the requirement's; the closest fit wins so bigger machines stay free."""
        now = now or utcnow()
        blocked = self.store.reserved_in(window, now)
        machines = self.store.assets(kind="machine")
        requirements = list(requirements)
        rows, explained = [], []
        for requirement in requirements:
            kind, needed = _get(requirement, "machine_kind"), set(_get(requirement, "capabilities") or ())
            row, misses = [], []
            for machine in machines:
                failed = []
                if machine.status != "available":
                    failed.append(f"status is {machine.status}")
                if machine.machine_kind != kind:
                    failed.append(f"is a {machine.machine_kind}, not a {kind}")
                lacking = sorted(needed - set(machine.capabilities))
                if lacking:
                    failed.append("lacks " + ", ".join(lacking))
                failed.extend(f"reserved: {holder}" for holder in blocked.get(machine.id, []))
                if failed:
                    misses.append((failed, machine))
                else:
                    row.append((machine.id, 1.0 / (1 + len(set(machine.capabilities) - needed))))
            rows.append(row)
            explained.append(misses)
        chosen = max_weight_assignment(rows)
        by_id = {m.id: m for m in machines}
        result = []
        for requirement, row, misses, machine_id in zip(requirements, rows, explained, chosen):
            name = _get(requirement, "parameter")
            if machine_id is None:
                misses.sort(key=lambda pair: (len(pair[0]), pair[1].id))
                near = [NearMiss(m.id, m.name, failed) for failed, m in misses[:_NEAR_MISSES]]
                reason = ("every matching machine went to another requirement" if row
                          else f"no registered {_get(requirement, 'machine_kind')} has "
                               + (", ".join(sorted(_get(requirement, 'capabilities') or [])) or "it"))
                result.append(Assignment(name, None, None, 0.0, {}, [reason], len(row), near))
                continue
            machine = by_id[machine_id]
            score = dict(row)[machine_id]
            surplus = sorted(set(machine.capabilities) - set(_get(requirement, "capabilities") or ()))
            reasons = [f"{machine.machine_kind} with " + (", ".join(machine.capabilities) or "no extras")]
            if surplus:
                reasons.append("unused here: " + ", ".join(surplus))
            result.append(Assignment(name, machine_id, machine.name, score, {"fit": score}, reasons,
                                     len(row)))
        return result


def _get(requirement: Any, key: str) -> Any:
    return requirement.get(key) if isinstance(requirement, dict) else getattr(requirement, key, None)


def _short(fqn: str | None) -> str:
    return (fqn or "").rpartition(".")[2]
