"""Optimal assignment in pure Python: most requirements filled, then the highest total score.

Sparse Jonker-Volgenant (shortest augmenting paths with Dijkstra and column potentials); each row
also has a private "unassigned" column whose cost is larger than any possible score gain, so the
solver first maximises how many rows are filled. Runs unchanged in Pyodide (no numpy).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def max_weight_assignment(rows: Sequence[Sequence[tuple[int, float]]]) -> list[int | None]:
    """``rows[i]`` lists ``(column, weight)`` edges (weights >= 0, columns any hashable ints).

    Returns, per row, the chosen column or None. No column is used twice; the number of rows
    assigned is maximal and, among such assignments, the total weight is maximal.
    """
    n = len(rows)
    if n == 0:
        return []
    top = max((w for row in rows for _, w in row), default=0.0)
    scale = top + 1.0
    unassigned_cost = n * scale + 1.0  # more than any weight gain: cardinality comes first
    costs: list[dict[object, float]] = []
    for i, row in enumerate(rows):
        edges: dict[object, float] = {("free", i): unassigned_cost}
        for column, weight in row:
            cost = scale - weight
            if cost < edges.get(column, float("inf")):
                edges[column] = cost
        costs.append(edges)

    price: dict[object, float] = {}
    owner: dict[object, int] = {}
    chosen: list[object | None] = [None] * n
    for start in range(n):
        dist: dict[object, float] = {}
        reached_from: dict[object, int] = {}
        heap: list[tuple[float, int, object]] = []
        tie = 0  # heap entries never compare columns
        for column, cost in costs[start].items():
            d = cost - price.get(column, 0.0)
            dist[column] = d
            reached_from[column] = start
            heap.append((d, tie, column))
            tie += 1
        heapq.heapify(heap)
        final: dict[object, float] = {}
        end, shortest = None, 0.0
        while heap:
            d, _, column = heapq.heappop(heap)
            if column in final or d > dist[column]:
                continue
            final[column] = d
            row = owner.get(column)
            if row is None:
                end, shortest = column, d
                break
            row_offset = costs[row][column] - price.get(column, 0.0)
            for other, cost in costs[row].items():
                if other in final:
                    continue
                candidate = d + cost - price.get(other, 0.0) - row_offset
                if candidate < dist.get(other, float("inf")):
                    dist[other] = candidate
                    reached_from[other] = row
                    heapq.heappush(heap, (candidate, tie, other))
                    tie += 1
        # Every row has its private column, so a free column is always reached.
        assert end is not None
        for column, d in final.items():
            if d < shortest:
                price[column] = price.get(column, 0.0) + d - shortest
        column = end
        while True:
            row = reached_from[column]
            previous = chosen[row]
            chosen[row] = column
            owner[column] = row
            if row == start:
                break
            column = previous
    return [c if not (isinstance(c, tuple) and c and c[0] == "free") else None for c in chosen]


def greedy_assignment(rows: Sequence[Sequence[tuple[int, float]]]) -> list[int | None]:
    """First come, first served: each row in turn takes its best still-free column (the baseline)."""
    used: set[int] = set()
    result: list[int | None] = []
    for row in rows:
        best = None
        for column, weight in row:
            if column not in used and (best is None or weight > best[1]):
                best = (column, weight)
        if best is not None:
            used.add(best[0])
        result.append(best[0] if best else None)
    return result
