"""The serial schedule decoder: an order of runs in, each placed in turn at its earliest finish.

Given an order, :func:`decode` places each run at the earliest time (on whichever workcell
finishes it first; on a tie, the one whose machines fewer other runs could use) when a
machine for every machine need, an item with enough tips or volume left for every
consumable need, and an operator on shift for every manual step are free together; between
segments it may wait within the protocol's time links; never before the earliest start,
never past the deadline. The list heuristic and the optimiser are orders fed to it, so
whatever they return is free of double-booking by construction. Runs that cannot be placed
say why: the machine kind, capability, consumable, stock, calendar or deadline, by name.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import timedelta

from browser_runtime.scheduler.jobs import (
    LAB,
    Compiled,
    Job,
    Option,
    Slot,
    _match,
    cost_reason,
    item_cost,
)
from browser_runtime.scheduler.placement import (
    Calendar,
    Hold,
    Infeasible,
    PlacedSegment,
    Placement,
    Schedule,
)
from browser_runtime.scheduler.requests import ConsumableNeed

_MAX_STEPS = 20000  # placement attempts for one run on one workcell before giving up

@dataclass
class Layout:
    """A job's layout for one decode: segments (refills first), the slots to fill, links."""

    durations: list[float]
    kinds: list[str]
    labels: list[str]
    links: list[list[tuple[int, float, float, float]]]
    pauses: list[int]
    slots: list[Slot]  # machine slots, then labware, then operators, then the lab
    matched: int  # slots[:matched] need distinct assets (machines and labware)
    refilled: dict[str, int]  # refilled parameter -> its labware slot index
    offsets: list[float] = field(default_factory=list)  # segment starts without waits
    span: float = 0.0
    relative: list[tuple[float, float]] | None = None  # slot holds from the start, when rigid


@dataclass
class _Found:
    start: float
    starts: list[float]  # absolute segment starts
    chosen: list[Hashable]  # one per slot
    late: list[tuple[Hashable, int]] = field(default_factory=list)
    why: str = ""  # not placeable: "late" (deadline or calendar end first) | "links" | "crowded" (stock)


def _starts(t: float, durations: list[float], waits: list[float]) -> list[float]:
    starts = []
    moment = t
    for duration, wait in zip(durations, waits):
        moment += wait
        starts.append(moment)
        moment += duration
    return starts


def _min_waits(t: float, attempt: Layout, waits: list[float]) -> bool:
    """Raise ``waits`` to what the links' minimums need; False when a maximum cannot hold."""
    starts = _starts(t, attempt.durations, waits)
    for target in attempt.pauses:
        need = 0.0
        for source, at, low, high in attempt.links[target]:
            gap = starts[target] - starts[source] - at
            if gap < low - 1e-9:
                need = max(need, low - gap)
        if need:
            waits[target] += need
            starts = _starts(t, attempt.durations, waits)
    return _links_hold(starts, attempt)


def _links_hold(starts: list[float], attempt: Layout) -> bool:
    for target in attempt.pauses:
        for source, at, low, high in attempt.links[target]:
            gap = starts[target] - starts[source] - at
            if gap > high + 1e-6 or gap < low - 1e-6:
                return False
    return True


def hold_interval(slot: Slot, starts: list[float], attempt: Layout, shift: int) -> tuple[float, float]:
    last_index = len(starts) - 1
    end_of_run = starts[-1] + attempt.durations[-1]
    if slot.whole:
        return starts[0], end_of_run
    first = slot.first + shift
    last = last_index if slot.last is None else slot.last + shift
    begin = starts[first] + slot.start
    finish = starts[last] + (attempt.durations[last] if slot.end == math.inf else slot.end)
    return begin, finish


def _earliest(job: Job, attempt: Layout, calendars: dict[Hashable, Calendar], bound: float,
              shift: int) -> _Found | None:
    """Earliest start of ``job`` laid out as ``attempt``: its segment starts and the assets, or
    a result saying why not (``late``: the deadline comes first, with the blockers; ``links``),
    or None once past ``bound`` (another workcell's start). A start, or a wait before a pause
    point, only ever moves to where a blocking hold ends, so time jumps from one such end to
    the next."""
    slots = attempt.slots
    matched = attempt.matched
    count = len(slots)
    t = job.release
    waits = [0.0] * len(attempt.durations)
    relative = attempt.relative
    for _ in range(_MAX_STEPS):
        if t >= bound:
            return None
        if relative is None:
            if attempt.pauses and not _min_waits(t, attempt, waits):
                return _Found(t, [], [], [], "links")
            starts = _starts(t, attempt.durations, waits)
            end = starts[-1] + attempt.durations[-1]
            offsets = [hold_interval(slot, starts, attempt, shift) for slot in slots]
            base = 0.0
        else:
            end = t + attempt.span
            offsets = relative  # holds relative to the start: no list to build per step
            base = t
        if end > job.deadline or math.isinf(t):
            return _Found(t, [], [], _late(slots, [(base + a, base + b) for a, b in offsets], calendars), "late")
        # Each slot's candidates in turn up to the first free one. A slot with none free must
        # wait at least until its first candidate frees up: the start moves there at once (a
        # lower bound of the wait, so no feasible start is skipped), the other slots unread.
        blocked: dict[tuple[int, Hashable], float] = {}  # -> when that asset is next free for it
        free: list[Hashable] = []
        taken: set[Hashable] = set()
        wait_for = None  # (delta, slot index) of a slot that must wait
        for position in range(count):
            begin, finish = offsets[position]
            length = finish - begin
            begin += base
            finish += base
            soonest = math.inf
            first_free = None
            crowded = False
            for asset in slots[position].candidates:
                if asset in taken:
                    crowded = True  # free perhaps, but an earlier need of this run took it
                    continue
                calendar = calendars.get(asset)
                if calendar is None:
                    first_free = asset
                    break
                ends = calendar.ends
                if not ends or ends[-1] <= begin or calendar.starts[0] >= finish:
                    first_free = asset
                    break
                fits = calendar.next_free(begin, length)
                if fits <= begin:
                    first_free = asset
                    break
                blocked[(position, asset)] = fits
                soonest = min(soonest, fits - begin)
            if first_free is None:
                if crowded:
                    break  # needs compete for the same assets: a matching decides below
                wait_for = (soonest, position)
                break
            free.append(first_free)
            if position < matched:
                taken.add(first_free)
        if wait_for is None:
            if len(free) == count:
                chosen: list[Hashable] | None = free
            else:
                intervals = [(base + a, base + b) for a, b in offsets]
                chosen = _choose(slots, matched, intervals, calendars, blocked)
            if chosen is not None:
                if relative is not None:
                    starts = [t + offset for offset in attempt.offsets]
                return _Found(t, starts, chosen)
            # Needs compete for the same free assets: wait until any blocked one frees up.
            _scan_all(slots, matched, intervals, calendars, blocked)
            if not blocked:  # all free, and still too few: stock left too few items for its needs
                return _Found(t, [], [], [], "crowded")
            delta = min(fits - intervals[position][0] for (position, asset), fits in blocked.items())
            t += max(delta, 1e-9)
            waits = [0.0] * len(waits)
            continue
        delta, position = wait_for
        if delta == math.inf:  # blocked for good (closed for good, nobody on shift any more)
            begin, finish = offsets[position]
            return _Found(t, [], [], [(asset, calendars[asset].blocking(base + begin, base + finish) or 0)
                                      for asset in slots[position].candidates if asset in calendars], "late")
        pause = _pause_before(slots[position], attempt, shift)
        room = _room(t, attempt, waits, pause) if pause is not None and delta < math.inf else 0.0
        if room >= delta - 1e-9:
            waits[pause] += delta  # type: ignore[index]
            continue
        if room > 1e-9:
            # Wait what the links allow there and start the rest later: the blocked hold moves
            # by the whole delta, the run's start by less.
            waits[pause] += room  # type: ignore[index]
            t += delta - room
            continue
        t += max(delta, 1e-9)
        waits = [0.0] * len(waits)
    raise RuntimeError(f"placing {job.request.id!r} took more than {_MAX_STEPS} steps")


def _choose(slots: list[Slot], matched: int, intervals: list[tuple[float, float]],
            calendars: dict[Hashable, Calendar], blocked: dict[tuple[int, Hashable], float]
            ) -> list[Hashable] | None:
    """Distinct assets for the machine and labware slots by a matching that looks past each
    slot's first free candidate, then the first free operator of each manual step (an operator
    may do several steps of one run: they never overlap)."""
    known_free: set[tuple[int, Hashable]] = set()

    def usable(need: int, asset: Hashable) -> bool:
        if (need, asset) in known_free:
            return True
        if (need, asset) in blocked:
            return False
        calendar = calendars.get(asset)
        begin, finish = intervals[need]
        fits = calendar.next_free(begin, finish - begin) if calendar is not None else begin
        if fits <= begin:
            known_free.add((need, asset))
            return True
        blocked[(need, asset)] = fits
        return False

    head = _match([s.candidates for s in slots[:matched]], usable)
    if head is None:
        return None
    tail = []
    for position in range(matched, len(slots)):
        found = next((a for a in slots[position].candidates if usable(position, a)), None)
        if found is None:
            return None
        tail.append(found)
    return head + tail


def _scan_all(slots: list[Slot], matched: int, intervals: list[tuple[float, float]],
              calendars: dict[Hashable, Calendar], blocked: dict[tuple[int, Hashable], float]) -> None:
    for position in range(len(slots)):
        begin, finish = intervals[position]
        for asset in slots[position].candidates:
            if (position, asset) in blocked:
                continue
            calendar = calendars.get(asset)
            fits = calendar.next_free(begin, finish - begin) if calendar is not None else begin
            if fits > begin:
                blocked[(position, asset)] = fits


def _late(slots: list[Slot], intervals: list[tuple[float, float]],
          calendars: dict[Hashable, Calendar]) -> list[tuple[Hashable, int]]:
    """What pushed a run past its deadline: holds just before (or over) where it would land."""
    empty = Calendar()
    late = []
    for slot, (begin, finish) in zip(slots, intervals):
        length = finish - begin if math.isfinite(finish - begin) else 0.0
        for asset in slot.candidates:
            calendar = calendars.get(asset, empty)
            index = calendar.blocking(begin - length, begin) if math.isfinite(begin) else None
            if index is None and math.isfinite(begin):
                index = calendar.blocking(begin, finish)
            if index is not None:
                late.append((asset, index))
    return late


def _room(t: float, attempt: Layout, waits: list[float], pause: int) -> float:
    """How much longer the run may wait before segment ``pause`` with every link still held."""
    starts = _starts(t, attempt.durations, waits)
    room = math.inf
    for target in attempt.pauses:
        for source, at, _, high in attempt.links[target]:
            if source < pause <= target:
                room = min(room, high - (starts[target] - starts[source] - at))
    return max(0.0, room)


def _pause_before(slot: Slot, attempt: Layout, shift: int) -> int | None:
    """The latest pause point at or before where ``slot``'s hold starts: waiting there moves
    the hold later without stretching it."""
    if slot.whole or not attempt.pauses:
        return None
    first = slot.first + shift
    found = [p for p in attempt.pauses if p <= first]
    return found[-1] if found else None


@dataclass
class DecodeState:
    """Where decoding stood before the run at ``position`` of an order (to resume from)."""

    position: int
    calendars: dict[Hashable, Calendar]
    placements: list[Placement]
    infeasible: list[Infeasible]
    stock: dict[int, tuple[float, float]] = field(default_factory=dict)
    refilled: frozenset[int] = frozenset()


_Variant = tuple[list[Slot], dict[str, int]]  # labware slots, refilled parameter -> slot index


def _labware_variants(job: Job, stock: dict[int, tuple[float, float]], refilled: set[int],
                      keep_whole: bool = False) -> tuple[list[_Variant], Slot | None]:
    """The job's labware given what stock is left: the plain way (a counted need no item can
    serve gets a refill), and, when refills are at hand, the way taking them wherever it can.
    The second is the slot no item nor refill can serve, if any (the run is short).

    ``keep_whole``: a need smaller than the biggest its items serve takes only items already
    too low for that biggest need while any has enough, so a run wanting a few tips waits for
    a started rack rather than break a full one a whole-rack run needs (one of the heuristic's
    decodings; which is better depends on the day)."""
    if not job.counted and not job.refills:
        return [(job.labware_slots, {})], None
    plain: list[Slot] = []
    eager: list[Slot] = []
    plain_refills: dict[str, int] = {}
    eager_refills: dict[str, int] = {}
    for slot in job.labware_slots:
        need = slot.need
        assert need is not None
        if not need.counted and slot.parameter not in job.refills:
            plain.append(slot)
            eager.append(slot)
            continue
        tips, volume = need.tips - 1e-9, need.volume_ul - 1e-9
        enough = [a for a in slot.candidates  # (``_has`` written out: this is the decoder's inner loop)
                  if (left := stock.get(a)) is None or (left[0] >= tips and left[1] >= volume)]  # type: ignore[call-overload]
        if keep_whole and enough and (need.tips < slot.biggest[0] or need.volume_ul < slot.biggest[1]):
            low = [a for a in enough if (left := stock.get(a)) is not None and (  # type: ignore[call-overload]
                (need.tips and left[0] < slot.biggest[0]) or (need.volume_ul and left[1] < slot.biggest[1]))]
            enough = low or enough
        spare = [a for a in job.refills.get(slot.parameter, ()) if a not in refilled and _has(stock.get(a), need)]
        if not enough and not spare:
            return [], slot
        if enough:
            plain.append(slot if len(enough) == len(slot.candidates) else
                         Slot(slot.parameter, "labware", enough, whole=True, need=need))
        else:
            plain_refills[slot.parameter] = len(plain)
            plain.append(Slot(slot.parameter, "labware", spare, whole=True, need=need))
        if spare:
            eager_refills[slot.parameter] = len(eager)
            eager.append(Slot(slot.parameter, "labware", spare, whole=True, need=need))
        else:
            eager.append(plain[-1])
    variants = [(plain, plain_refills)]
    if eager_refills != plain_refills:
        variants.append((eager, eager_refills))
    return variants, None


@dataclass
class _Shape:
    """A job's segments once ``count`` refills come first, with what does not depend on the workcell."""

    durations: list[float]
    kinds: list[str]
    labels: list[str]
    links: list[list[tuple[int, float, float, float]]]
    pauses: list[int]
    offsets: list[float]
    span: float
    tail: list[Slot]  # operators for the manual steps, then the lab


def _shape_of(compiled: Compiled, job: Job, refills: dict[str, int]) -> _Shape:
    count = len(refills)
    key = tuple(refills)
    cached = job.shapes.get(key)
    if cached is not None:
        return cached
    durations = [compiled.problem.refill_s] * count + job.durations
    kinds = ["refill"] * count + job.kinds
    tail = []
    if compiled.operators is not None:
        for index, kind in enumerate(kinds):
            if kind != "run":
                tail.append(Slot(kind, "operator", compiled.operators, index - count, 0.0, index - count, math.inf))
    if LAB in compiled.calendars:
        tail.append(Slot("lab", "lab", [LAB], whole=True, exclusive=False))
    shape = _Shape(durations, kinds, [f"refill {parameter}" for parameter in refills] + job.labels,
                   [[] for _ in range(count)] + [[(source + count, at, low, high) for source, at, low, high in into]
                                                 for into in job.links],
                   [p + count for p in job.pauses], _starts(0.0, durations, [0.0] * len(durations)),
                   sum(durations), tail)
    job.shapes[key] = shape
    return shape


def _assemble(compiled: Compiled, job: Job, option: Option, labware_slots: list[Slot],
              refills: dict[str, int]) -> Layout:
    """The run laid out on one workcell: its slots and, when rigid, every hold from its start."""
    if not job.counted and option.attempt is not None:
        return option.attempt  # type: ignore[no-any-return]
    shape = _shape_of(compiled, job, refills)
    count = len(refills)
    slots = option.machine_slots + labware_slots
    matched = len(slots)
    slots += shape.tail
    attempt = Layout(shape.durations, shape.kinds, shape.labels, shape.links, shape.pauses, slots, matched,
                   refills, shape.offsets, shape.span)
    if not shape.pauses:  # rigid: every hold is a fixed stretch from the start
        head = option.relative.get(count)
        if head is None:
            head = option.relative[count] = [hold_interval(slot, shape.offsets, attempt, count)
                                             for slot in option.machine_slots]
        attempt.relative = head + [(0.0, shape.span)] * len(labware_slots) + [
            hold_interval(slot, shape.offsets, attempt, count) for slot in shape.tail]
    if not job.counted:
        option.attempt = attempt
    return attempt


def plain_layout(compiled: Compiled, job: Job, option: Option, stock: dict[int, tuple[float, float]],
            refilled: set[int]) -> Layout | Infeasible:
    """The plain layout on one workcell, or why the run would run short."""
    variants, short = _labware_variants(job, stock, refilled)
    if short is not None:
        return _short(compiled, job, short, stock)
    return _assemble(compiled, job, option, *variants[0])


def _has(left: tuple[float, float] | None, need: ConsumableNeed) -> bool:
    if left is None:
        return True
    return left[0] >= need.tips - 1e-9 and left[1] >= need.volume_ul - 1e-9


def _short(compiled: Compiled, job: Job, slot: Slot, stock: dict[int, tuple[float, float]]) -> Infeasible:
    need = slot.need
    assert need is not None
    request, candidates, refills = job.request.id, slot.candidates, job.refills.get(slot.parameter, [])
    left = []
    for asset in candidates[:4]:
        tips, volume = stock.get(asset, (math.inf, math.inf))
        amount = (f"{tips:g} tips" if need.tips else "") + (" and " if need.tips and need.volume_ul else "") + (
            f"{volume:g} uL" if need.volume_ul else "")
        left.append(f"{compiled.names.get(asset, asset)!r} has {amount} left")
    more = f" (and {len(candidates) - 4} more)" if len(candidates) > 4 else ""
    refill = ("every refill in the inventory is used or too small" if refills
              else "the inventory has no refill for it")
    return Infeasible(request, "stock", need.parameter,
                      f"would run short: needs {need.amount()} from {need.describe()} for "
                      f"{need.parameter!r}, but " + ("; ".join(left) + more if left else "no item is left")
                      + f"; {refill}")


def decode(compiled: Compiled, order: list[int], method: str = "heuristic", *,
           resume: DecodeState | None = None, record: list[DecodeState] | None = None,
           every: int = 25, light: bool = False, pins: dict[int, int] | None = None,
           keep_whole: bool = False) -> Schedule:
    """Place the jobs in ``order`` one by one, each at its earliest finish over its workcells.

    ``resume`` continues from a state recorded for an order sharing this one's prefix;
    ``record`` collects a state every ``every`` positions (the optimiser's checkpoints);
    ``light`` placements carry only their times (a search decodes the winner again in full);
    ``pins`` keeps a job (by index) to one of its workcell options, where the earliest finish
    alone would not balance the workcells; ``keep_whole``: see ``_labware_variants``."""
    if resume is None:
        resume = DecodeState(0, compiled.calendars, [], list(compiled.static_infeasible),
                             dict(compiled.stock), frozenset())
    calendars = {asset: calendar.copy() for asset, calendar in resume.calendars.items()}
    placements = resume.placements[:]
    infeasible = resume.infeasible[:]
    stock = dict(resume.stock)
    refilled = set(resume.refilled)
    for position in range(resume.position, len(order)):
        if record is not None and position % every == 0 and not (record and record[-1].position == position):
            record.append(DecodeState(position, {a: c.copy() for a, c in calendars.items()},
                                      placements[:], infeasible[:], dict(stock), frozenset(refilled)))
        job = compiled.jobs[order[position]]
        pin = pins.get(order[position]) if pins else None
        outcome = _place(compiled, job, calendars, stock, refilled, light,
                         None if pin is None else job.options[pin:pin + 1], keep_whole)
        if isinstance(outcome, Infeasible):
            infeasible.append(outcome)
        else:
            placements.append(outcome)
    return Schedule(compiled.problem.origin, placements, infeasible, method,
                    order=[compiled.jobs[i].request.id for i in order])


def _place(compiled: Compiled, job: Job, calendars: dict[Hashable, Calendar],
           stock: dict[int, tuple[float, float]], refilled: set[int],
           light: bool = False, options: list[Option] | None = None,
           keep_whole: bool = False) -> Placement | Infeasible:
    best: tuple[_Found, Option, Layout, float] | None = None
    late: list[tuple[Hashable, int]] = []
    shortage: Infeasible | None = None
    # A run with refills at hand may also take one when that starts it sooner than waiting for a
    # busy item with stock left (the plain layout wins a tie: refills are kept for shortages).
    variants, short = _labware_variants(job, stock, refilled, keep_whole)
    if short is not None:
        return _short(compiled, job, short, stock)
    for refill, (labware_slots, refills) in enumerate(variants):
        for option in options or job.options:
            attempt = _assemble(compiled, job, option, labware_slots, refills)
            shift = len(attempt.refilled)
            # Equal starts tie: allow the bound to admit them so the less wanted machines can win.
            bound = (best[0].start + (-1e-9 if refill else 1e-9)) if best is not None else math.inf
            found = _earliest(job, attempt, calendars, bound, shift)
            if found is None:
                continue
            if found.why:
                if found.why == "links":
                    shortage = Infeasible(job.request.id, "timelink", "time links",
                                          "its time links cannot all hold: the minimum waits break a maximum")
                elif found.why == "crowded":
                    names = ", ".join(repr(slot.parameter) for slot in labware_slots)
                    shortage = Infeasible(job.request.id, "stock", names,
                                          f"its labware needs {names} want distinct items, and too few have "
                                          "enough left for all of them")
                else:
                    late.extend(found.late)
                    shortage = shortage or _deadline_reason(compiled, job, found.late, calendars)
                continue
            demand = sum(option.demand.get(a, 0.0) for a in found.chosen[:len(option.machine_slots)]
                         if isinstance(a, int))
            if best is None or found.start < best[0].start - 1e-9 or (
                    not refill and found.start <= best[0].start + 1e-9 and demand < best[3]):
                best = (found, option, attempt, demand)
    if best is None:
        if late:
            return _deadline_reason(compiled, job, late, calendars)
        return shortage or _deadline_reason(compiled, job, [], calendars)
    found, option, attempt, _ = best
    return _commit(compiled, job, found, option, attempt, calendars, stock, refilled, light)


def _commit(compiled: Compiled, job: Job, found: _Found, option: Option, attempt: Layout,
            calendars: dict[Hashable, Calendar], stock: dict[int, tuple[float, float]],
            refilled: set[int], light: bool = False) -> Placement:
    shift = len(attempt.refilled)
    starts = found.starts
    end = starts[-1] + attempt.durations[-1]
    relative = attempt.relative
    if light:
        # The optimiser's search only needs the calendars, the stock and when the run ends.
        t = starts[0]
        for position, (slot, asset) in enumerate(zip(attempt.slots, found.chosen)):
            if slot.kind != "lab":
                begin, finish = ((t + relative[position][0], t + relative[position][1]) if relative is not None
                                 else hold_interval(slot, starts, attempt, shift))
                calendars.setdefault(asset, Calendar()).add(begin, finish, job.request.id)
                if slot.need is not None and slot.need.counted:
                    tips, volume = stock.get(asset, (math.inf, math.inf))  # type: ignore[call-overload]
                    stock[asset] = (tips - slot.need.tips, volume - slot.need.volume_ul)  # type: ignore[index]
                    if slot.parameter in attempt.refilled:
                        refilled.add(asset)  # type: ignore[arg-type]
        return Placement(job.request.id, option.workcell, starts[0], end, {}, {})
    holds, machines, consumables, drawn, costs, refills = [], {}, {}, {}, {}, {}
    operators_by_segment: dict[int, str] = {}
    for position, (slot, asset) in enumerate(zip(attempt.slots, found.chosen)):
        begin, finish = hold_interval(slot, starts, attempt, shift)
        if slot.kind == "lab":
            continue
        calendars.setdefault(asset, Calendar()).add(begin, finish, job.request.id)
        if slot.kind == "operator":
            operators_by_segment[slot.first + shift] = compiled.names[asset].removeprefix("operator ")
            continue
        assert isinstance(asset, int)
        holds.append(Hold(asset, begin, finish))
        if slot.kind == "machine":
            machines[slot.parameter] = asset
            continue
        consumables[slot.parameter] = asset
        need = slot.need
        assert need is not None
        item = compiled.labware.get(asset)
        if item is not None:
            costs[slot.parameter] = {"cost": round(item_cost(item, need), 6), "reason": cost_reason(item, need)}
        if need.counted:
            tips, volume = stock.get(asset, (math.inf, math.inf))
            stock[asset] = (tips - need.tips, volume - need.volume_ul)
            drawn[asset] = {"tips": need.tips, "volume_ul": need.volume_ul}
        if slot.parameter in attempt.refilled:
            refilled.add(asset)
            refills[slot.parameter] = asset
    segments = [PlacedSegment(kind, label, start, start + duration, operators_by_segment.get(index))
                for index, (kind, label, start, duration) in enumerate(
                    zip(attempt.kinds, attempt.labels, starts, attempt.durations))]
    return Placement(job.request.id, option.workcell, starts[0], end, machines, consumables, holds,
                     segments, drawn, refills, costs)


def _deadline_reason(compiled: Compiled, job: Job, blockers: list[tuple[Hashable, int]],
                     calendars: dict[Hashable, Calendar]) -> Infeasible:
    held = []
    for asset, index in sorted(set(blockers), key=lambda pair: (str(pair[0]), pair[1])):
        calendar = calendars[asset]
        end = calendar.ends[index]
        until = ("for good" if math.isinf(end) else
                 "until " + (compiled.problem.origin + timedelta(seconds=end)).isoformat(timespec="seconds"))
        held.append(f"{compiled.names.get(asset, f'asset {asset}')!r} is held by {calendar.holders[index]} {until}")
    # Blocked only by closed hours or operators off shift: a calendar matter, not other runs.
    calendar_only = bool(blockers) and not any(isinstance(asset, int) for asset, _ in blockers)
    if job.request.deadline is None:
        return Infeasible(job.request.id, "calendar", "calendar",
                          "cannot be placed in any open time: " + ("; ".join(held[:4]) or
                                                                  "no window is long enough"))
    deadline = job.request.deadline.isoformat()
    return Infeasible(job.request.id, "calendar" if calendar_only else "deadline", "deadline",
                      f"cannot finish by its deadline {deadline}: " + ("; ".join(held[:4]) or
                                                                      "no workcell is free in time"))


def cost(schedule: Schedule, compiled: Compiled) -> float:
    """What the optimiser minimises: unplaced runs (weighted by priority) far above makespan,
    then a little weighted completion time so high-priority runs come early."""
    weights = {job.request.id: job.weight for job in compiled.jobs}
    unplaced = sum(weights.get(item.request, 0.0) for item in schedule.infeasible)
    completion = sum(weights[p.request] * p.end_s for p in schedule.placements)
    horizon = sum(job.span for job in compiled.jobs) + 1.0
    return unplaced * horizon * 10 + schedule.makespan_s + 1e-3 * completion / max(len(compiled.jobs), 1)
