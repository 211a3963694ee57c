"""The batch planner: a city's whole waiting backlog as one assignment problem (issue: batch mode for surges).

Pure numpy/scipy over arrays, no database: `replan.do_replan_backlog` loads the rows and writes the proposals,
`bench/match.py` feeds it a simulated lockdown week. The rules are those of the online engine (`matching.py`,
`queries.candidates_for`): walking distance = great-circle distance × `matching.DETOUR_FACTOR`, a helper is a
candidate when the request's type is one of theirs and the distance is within both their radius and the request's
search radius (plus whatever else the caller's `keep` filter says: availability, area, verification).

Objective, lexicographic: match as many requests as possible, then walk as little as possible in total. It is
written as one weighted matching: a request not matched costs `UNMATCHED_COST_M`, far more than any walk, so
leaving one request unmatched is never traded for shorter walks of the others.

How it is solved (`plan`): each request keeps its `k` nearest eligible helpers (default 30); each helper becomes as
many columns as they have capacity left (never more than the requests that can reach them); each request gets a
private "unmatched" column, so a full matching always exists; then `scipy.sparse.csgraph
.min_weight_full_bipartite_matching` (LAPJVsp, exact) solves it. Where helpers are scarce the `k` nearest can all
be taken by others: such "contested" requests get every arc they have and the problem is solved again, until none
is left, so the number matched is the true maximum. The total walk is optimal for the pruned graph; `lp_optimum`
(HiGHS on the transportation LP over every arc, whose optimum is integral) measures what the pruning costs
(bench/match.py, docs/benchmarks.md).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from .matching import DETOUR_FACTOR, EARTH_RADIUS_M

# Cost of leaving a request unmatched, in metres. Larger than any sum of walks an augmenting path could change
# (a path would need more than 2,000 arcs of 5 km), so "more matched" always wins over "shorter walks", and small
# enough for float64 sums over a city to stay exact to a millimetre.
UNMATCHED_COST_M = 1e7
DEFAULT_K = 30
# When more than this share of the requests is contested after a round, the next round takes every arc at once.
WIDEN_ALL_SHARE = 0.02
WEEK_US = 7 * 24 * 3600 * 1_000_000

Keep = Callable[[np.ndarray, np.ndarray], np.ndarray]


# --- distances -----------------------------------------------------------------------------------------------

def walking_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """`matching.walking_m`, vectorised (same formula, same constants)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a))) * DETOUR_FACTOR


def _xyz(lat, lon) -> np.ndarray:
    """Points on the sphere of radius EARTH_RADIUS_M: straight-line (chord) distance is monotone in great-circle
    distance, so a k-d tree over these finds exactly the points within a walking distance, anywhere on Earth."""
    p, l = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    c = np.cos(p)
    return np.column_stack([c * np.cos(l), c * np.sin(l), np.sin(p)]) * EARTH_RADIUS_M


def _chord(walk_m: float) -> float:
    """The chord length for a walking distance, a little generous: the exact test is redone on every pair found."""
    angle = min(walk_m / DETOUR_FACTOR / EARTH_RADIUS_M, np.pi)
    return 2 * EARTH_RADIUS_M * np.sin(angle / 2) * (1 + 1e-9) + 1e-3


# --- candidate arcs ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arcs:
    """Request-helper pairs that may be matched, sorted by request then distance then helper."""

    request: np.ndarray  # int64, index into the request arrays
    helper: np.ndarray  # int64, index into the helper arrays
    distance_m: np.ndarray  # float64, walking metres

    def __len__(self) -> int:
        return len(self.request)

    @classmethod
    def of(cls, request, helper, distance_m) -> "Arcs":
        request = np.asarray(request, dtype=np.int64)
        helper = np.asarray(helper, dtype=np.int64)
        distance_m = np.asarray(distance_m, dtype=np.float64)
        order = np.lexsort((helper, distance_m, request))
        return cls(request[order], helper[order], distance_m[order])

    def take(self, mask_or_index) -> "Arcs":
        return Arcs(self.request[mask_or_index], self.helper[mask_or_index], self.distance_m[mask_or_index])


def _empty() -> Arcs:
    return Arcs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


def nearest(arcs: Arcs, k: int) -> Arcs:
    """At most `k` arcs per request, the shortest (arcs are sorted, so the first `k` of each request's run)."""
    if len(arcs) == 0:
        return arcs
    starts = np.r_[0, np.flatnonzero(np.diff(arcs.request)) + 1]
    run = np.arange(len(arcs)) - np.repeat(starts, np.diff(np.r_[starts, len(arcs)]))
    return arcs.take(run < k)


def candidate_arcs(req_lat, req_lon, req_reach_m, req_type_bit, hel_lat, hel_lon, hel_reach_m, hel_type_mask, *,
                   k: int | None = DEFAULT_K, keep: Keep | None = None, only: np.ndarray | None = None) -> Arcs:
    """Every (request, helper) pair the online engine would allow, or only the `k` nearest per request.

    A pair is allowed when `req_type_bit & hel_type_mask` is non-zero, the walking distance is at most
    `min(req_reach_m, hel_reach_m)`, and `keep(request_idx, helper_idx)` (a vectorised filter, optional) is true.
    With `k`, each request keeps its `k` nearest allowed helpers, found with a k-nearest-neighbour search that
    widens until `k` allowed ones are found or nobody else is within reach; with `k=None`, every allowed pair
    (what the reference solver needs). `only`: the arcs of these requests only (indices are kept).
    """
    req_lat, req_lon = np.asarray(req_lat, float), np.asarray(req_lon, float)
    hel_lat, hel_lon = np.asarray(hel_lat, float), np.asarray(hel_lon, float)
    req_reach = np.asarray(req_reach_m, float)
    hel_reach = np.asarray(hel_reach_m, float)
    req_bit = np.asarray(req_type_bit, np.int64)
    hel_mask = np.asarray(hel_type_mask, np.int64)
    if len(req_lat) == 0 or len(hel_lat) == 0:
        return _empty()
    req_xyz, hel_xyz = _xyz(req_lat, req_lon), _xyz(hel_lat, hel_lon)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def allowed(r: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = walking_m(req_lat[r], req_lon[r], hel_lat[h], hel_lon[h])
        ok = d <= np.minimum(req_reach[r], hel_reach[h])
        if keep is not None and ok.any():
            ok[ok] = keep(r[ok], h[ok])
        return r[ok], h[ok], d[ok]

    chosen = np.zeros(len(req_lat), bool)
    chosen[np.arange(len(req_lat)) if only is None else np.asarray(only, np.int64)] = True
    for bit in np.unique(req_bit[chosen]):
        helpers = np.flatnonzero(hel_mask & bit)
        if len(helpers) == 0:
            continue
        tree = cKDTree(hel_xyz[helpers])
        max_helper_reach = float(hel_reach[helpers].max())
        of_type = np.flatnonzero((req_bit == bit) & chosen)
        # One search per distinct reach (in practice a handful: the default radius and the widened one).
        for reach in np.unique(req_reach[of_type]):
            rows = of_type[req_reach[of_type] == reach]
            bound = _chord(min(float(reach), max_helper_reach))
            if k is None:
                found = cKDTree(req_xyz[rows]).sparse_distance_matrix(tree, bound, output_type="ndarray")
                parts.append(allowed(rows[found["i"]], helpers[found["j"]]))
                continue
            todo, want = rows, min(len(helpers), max(2 * k, k + 16))
            while len(todo):
                _, idx = tree.query(req_xyz[todo], k=want, distance_upper_bound=bound)
                idx = idx.reshape(len(todo), want)
                hit = idx < len(helpers)
                r = np.repeat(todo, hit.sum(axis=1))
                h = helpers[idx[hit]]
                r, h, d = allowed(r, h)
                count = np.bincount(np.searchsorted(todo, r), minlength=len(todo))
                # A row that came back full may hide more allowed helpers further out: ask again, wider.
                done = (count >= k) | ~hit[:, -1] | (want >= len(helpers))
                keep_rows = np.isin(r, todo[done])
                parts.append((r[keep_rows], h[keep_rows], d[keep_rows]))
                todo, want = todo[~done], min(len(helpers), want * 4)
    if not parts:
        return _empty()
    arcs = Arcs.of(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                   np.concatenate([p[2] for p in parts]))
    return nearest(arcs, k) if k is not None else arcs


# --- availability --------------------------------------------------------------------------------------------

def available(request: np.ndarray, helper: np.ndarray, win_start_us: np.ndarray, win_end_us: np.ndarray,
              win_long: np.ndarray, slot_helper: np.ndarray, slot_start_us: np.ndarray, slot_end_us: np.ndarray,
              n_helpers: int) -> np.ndarray:
    """`matching.available` for many (request, helper) pairs at once.

    Times are local wall-clock microseconds counted from a Monday 00:00 (what `matching.available` compares, in
    the instance's time zone): `win_start_us`/`win_end_us` per request, `win_long` true for a window of 7 days or
    more (always available); one row per weekly slot: its helper and its start/end as offsets into the week
    (weekday × 1 day + "HH:MM"). A helper without slots is available any time. A slot overlaps the window when one
    of its weekly occurrences starts before the window ends and ends after it starts.
    """
    request, helper = np.asarray(request, np.int64), np.asarray(helper, np.int64)
    slot_helper = np.asarray(slot_helper, np.int64)
    order = np.argsort(slot_helper, kind="stable")
    slot_helper, s_start, s_end = slot_helper[order], np.asarray(slot_start_us, np.int64)[order], \
        np.asarray(slot_end_us, np.int64)[order]
    n_slots = np.bincount(slot_helper, minlength=n_helpers)
    first = np.r_[0, np.cumsum(n_slots)[:-1]]
    out = (n_slots[helper] == 0) | np.asarray(win_long, bool)[request]
    test = np.flatnonzero(~out)
    if len(test) == 0:
        return out
    per = n_slots[helper[test]]
    pair = np.repeat(test, per)
    slot = np.repeat(first[helper[test]], per) + (np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per))
    start, end = np.asarray(win_start_us, np.int64)[request[pair]], np.asarray(win_end_us, np.int64)[request[pair]]
    n = (start - s_end[slot]) // WEEK_US + 1  # the first occurrence ending after the window starts
    hit = s_start[slot] + n * WEEK_US < end
    out[test] = np.bincount(pair[hit], minlength=len(out))[test] > 0
    return out


# --- solving -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    helper: np.ndarray  # int64 per request: the helper index, or -1 when unmatched
    distance_m: np.ndarray  # float64 per request: the walk, NaN when unmatched
    seconds: float
    arcs: int  # arcs the solver saw (in its last round)
    rounds: int = 1  # solves (plan: 1 + the rounds that widened contested requests)

    @property
    def matched(self) -> int:
        return int((self.helper >= 0).sum())

    @property
    def total_distance_m(self) -> float:
        return float(np.nansum(self.distance_m))

    def check(self, arcs: Arcs, capacity: np.ndarray) -> None:
        """Raise if the plan uses a pair that is not an arc or a helper beyond capacity (tests and the bench)."""
        r = np.flatnonzero(self.helper >= 0)
        pairs = set(zip(arcs.request.tolist(), arcs.helper.tolist()))
        bad = [(int(i), int(self.helper[i])) for i in r if (int(i), int(self.helper[i])) not in pairs]
        if bad:
            raise AssertionError(f"pairs outside the candidate arcs: {bad[:5]}")
        used = np.bincount(self.helper[r], minlength=len(capacity))
        if (used > np.asarray(capacity)).any():
            raise AssertionError("a helper is planned beyond their capacity")


def _result(n_requests: int, r: np.ndarray, h: np.ndarray, d: np.ndarray, seconds: float, arcs: int,
            rounds: int = 1) -> Plan:
    helper = np.full(n_requests, -1, np.int64)
    dist = np.full(n_requests, np.nan)
    helper[r], dist[r] = h, d
    return Plan(helper, dist, seconds, arcs, rounds)


def _solve(n_requests: int, capacity: np.ndarray, arcs: Arcs,
           unmatched_cost_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact optimum over `arcs`: (request indices matched, their helpers, their distances)."""
    if len(arcs) == 0:
        return arcs.request, arcs.helper, arcs.distance_m
    # Only requests with at least one arc, and helpers someone can reach, enter the matrix.
    rows, r_of_arc = np.unique(arcs.request, return_inverse=True)
    helpers, h_of_arc = np.unique(arcs.helper, return_inverse=True)
    copies = np.minimum(capacity[helpers], np.bincount(h_of_arc, minlength=len(helpers)))
    offset = np.r_[0, np.cumsum(copies)]
    n_cols = int(offset[-1])
    per = copies[h_of_arc]
    total = int(per.sum())
    edge_row = np.repeat(r_of_arc, per)
    edge_col = np.repeat(offset[:-1][h_of_arc], per) + (np.arange(total) - np.repeat(np.cumsum(per) - per, per))
    # +1 m on every edge, the unmatched ones included: LAPJVsp needs non-zero weights, and every row is matched
    # exactly once (to a helper or to its own "unmatched" column), so a constant changes nothing.
    edge_w = np.repeat(arcs.distance_m, per) + 1.0
    n_rows = len(rows)
    graph = sparse.csr_array(
        (np.r_[edge_w, np.full(n_rows, unmatched_cost_m + 1.0)],
         (np.r_[edge_row, np.arange(n_rows)], np.r_[edge_col, n_cols + np.arange(n_rows)])),
        shape=(n_rows, n_cols + n_rows))
    row_ind, col_ind = min_weight_full_bipartite_matching(graph)
    real = col_ind < n_cols
    r_local, c = row_ind[real], col_ind[real]
    h_local = np.searchsorted(offset, c, side="right") - 1
    # Read the distance back from the arc of that pair (pairs are unique in `arcs`).
    key = r_of_arc * len(helpers) + h_of_arc
    order = np.argsort(key)
    pos = order[np.searchsorted(key[order], r_local * len(helpers) + h_local)]
    return rows[r_local], helpers[h_local], arcs.distance_m[pos]


def plan(n_requests: int, capacity, arcs: Arcs, *, k: int | None = DEFAULT_K,
         more: Callable[[np.ndarray], Arcs] | None = None, unmatched_cost_m: float = UNMATCHED_COST_M,
         max_rounds: int = 12) -> Plan:
    """The best assignment under helper `capacity` (0 or less: not at all); each request at most once.

    With `k=None`, the exact optimum over `arcs`. With `k`, each request first keeps its `k` nearest arcs; then
    a request whose kept helpers are all used up (or that is unmatched) gets every arc it has (from `arcs`, or
    from `more(request_indices)` when `arcs` holds only the `k` nearest), and the problem is solved again, until no
    new request needs it (more than `WIDEN_ALL_SHARE` of them at once: every request gets all its arcs). At the
    end every request either has all its arcs in the problem or a kept helper with capacity left, so no augmenting
    path of the full graph is missing: the number matched is the maximum (unless `max_rounds` stopped it); the
    total walk is the optimum of the pruned graph (the bench measures its gap to the full optimum).
    """
    start = time.perf_counter()
    capacity = np.asarray(capacity, np.int64)
    arcs = arcs.take(capacity[arcs.helper] > 0)
    if k is None:
        r, h, d = _solve(n_requests, capacity, arcs, unmatched_cost_m)
        return _result(n_requests, r, h, d, time.perf_counter() - start, len(arcs))
    if more is None:
        def more(idx: np.ndarray, full: Arcs = arcs) -> Arcs:
            return full.take(np.isin(full.request, idx))
    kept = nearest(arcs, k)
    complete = np.bincount(kept.request, minlength=n_requests) < k  # every arc of theirs is already kept
    graph, rounds = kept, 0
    while True:
        rounds += 1
        r, h, d = _solve(n_requests, capacity, graph, unmatched_cost_m)
        if rounds >= max_rounds:
            break
        used = np.bincount(h, minlength=len(capacity))
        has_spare = np.zeros(n_requests, bool)
        has_spare[kept.request[used[kept.helper] < capacity[kept.helper]]] = True
        widen = np.flatnonzero(~has_spare & ~complete)
        if len(widen) == 0:
            break
        if len(widen) > WIDEN_ALL_SHARE * n_requests:
            # Helpers are scarce: contested requests are everywhere, and rounds would add them a few at a time.
            # One round with every arc costs less than several.
            widen = np.flatnonzero(~complete)
        extra = more(widen)
        extra = extra.take(capacity[extra.helper] > 0)
        complete[widen] = True
        graph = Arcs.of(np.r_[graph.request[~np.isin(graph.request, widen)], extra.request],
                        np.r_[graph.helper[~np.isin(graph.request, widen)], extra.helper],
                        np.r_[graph.distance_m[~np.isin(graph.request, widen)], extra.distance_m])
    return _result(n_requests, r, h, d, time.perf_counter() - start, len(graph), rounds)


# --- for comparison (bench/match.py, tests) ------------------------------------------------------------------

def lp_optimum(n_requests: int, capacity, arcs: Arcs, *,
               unmatched_cost_m: float = UNMATCHED_COST_M) -> Plan:
    """The reference: the same objective as a transportation LP over the given arcs, solved by HiGHS.

    Variables x[arc] in [0, 1] and u[request] in [0, 1]; each request: sum of its x + u = 1; each helper: sum of
    their x <= capacity. The constraint matrix is totally unimodular, so the simplex optimum is integral.
    """
    from scipy.optimize import linprog

    start = time.perf_counter()
    capacity = np.asarray(capacity, np.int64)
    arcs = arcs.take(capacity[arcs.helper] > 0)
    m = len(arcs)
    rows, r_of_arc = np.unique(arcs.request, return_inverse=True)
    helpers, h_of_arc = np.unique(arcs.helper, return_inverse=True)
    n_rows, n_hel = len(rows), len(helpers)
    if m == 0:
        return _result(n_requests, arcs.request, arcs.helper, arcs.distance_m, time.perf_counter() - start, 0)
    c = np.r_[arcs.distance_m, np.full(n_rows, unmatched_cost_m)]
    a_eq = sparse.csr_array((np.ones(m + n_rows), (np.r_[r_of_arc, np.arange(n_rows)], np.arange(m + n_rows))),
                            shape=(n_rows, m + n_rows))
    a_ub = sparse.csr_array((np.ones(m), (h_of_arc, np.arange(m))), shape=(n_hel, m + n_rows))
    res = linprog(c, A_ub=a_ub, b_ub=capacity[helpers].astype(float), A_eq=a_eq, b_eq=np.ones(n_rows),
                  bounds=(0, 1), method="highs-ds")
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the reference LP: {res.message}")
    x = res.x[:m]
    chosen = np.flatnonzero(x > 0.5)
    if np.abs(x - np.round(x)).max(initial=0) > 1e-6:
        raise RuntimeError("the reference LP optimum is not integral")
    return _result(n_requests, arcs.request[chosen], arcs.helper[chosen], arcs.distance_m[chosen],
                   time.perf_counter() - start, m)


def greedy(n_requests: int, capacity, arcs: Arcs, order=None) -> Plan:
    """A baseline: requests in `order` (default: index order, i.e. posting order) each take their nearest helper
    with capacity left."""
    start = time.perf_counter()
    left = np.asarray(capacity, np.int64).copy()
    starts = np.searchsorted(arcs.request, np.arange(n_requests))
    ends = np.searchsorted(arcs.request, np.arange(n_requests), side="right")
    helper_l, dist_l = arcs.helper.tolist(), arcs.distance_m.tolist()
    r_out, h_out, d_out = [], [], []
    for r in (range(n_requests) if order is None else order):
        for i in range(starts[r], ends[r]):
            h = helper_l[i]
            if left[h] > 0:
                left[h] -= 1
                r_out.append(r)
                h_out.append(h)
                d_out.append(dist_l[i])
                break
    return _result(n_requests, np.array(r_out, np.int64), np.array(h_out, np.int64), np.array(d_out),
                   time.perf_counter() - start, len(arcs))
