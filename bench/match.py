"""Benchmark of mutual-aid matching: a simulated lockdown week in Paris (issue: batch mode). Not a test: it reports.

    .venv/bin/python bench/match.py --requests 20000 --helpers 50000 --online 6000 --tight-helpers 10000

On a fresh SQLite database in a temporary directory (PostgreSQL is not covered by this bench):

1. **Seed.** The 80 real Paris quartiers (`do_import_neighbourhoods`, polygons, adjacency); members at random points
   inside the real polygons (shapely), denser in some quartiers (lognormal weights by area); `--helpers` verified
   helpers (85 %; the others pending) with offers (1–4 types by popularity, radius 500–2000 m, capacity 1–5 a week,
   40 % any time, the others 2–6 weekly slots); `--requests` requesters, with demand concentrated in 8 "surge"
   quartiers (×4), and one request each over the simulated week (type by popularity, urgency, 8 % at risk,
   windows of 2 h to 2 days). Bulk inserts (`bulk_create`).
2. **Online.** The first `--online` requests of the week, in posting order, go through `actions.do_create_request`
   with the simulated clock. The wall time from the call to the delivery of the `request.proposed` event
   (`events.event_published`, after commit) is recorded per request. Helpers asked answer yes with probability
   `--accept` after an exponential delay (mean 15 min, simulated) through `actions.do_accept`, or never;
   `actions.do_tick` runs every 10 simulated minutes (widen, ask more, escalate, expire).
3. **Batch, arrays.** The whole week's requests as one waiting backlog (a "surge Monday" three weeks later, so no
   capacity is used: same weekday and wall-clock times) × every helper: `batch.candidate_arcs` (k = 30) +
   `batch.plan`, timed; the reference: `batch.lp_optimum` (HiGHS dual simplex on the transportation LP over every
   allowed arc, no pruning) on the same instance; a greedy baseline (posting order, nearest helper with capacity).
   Then the same for a tighter instance: the same backlog × `--tight-helpers` helpers drawn at random.
4. **Batch, end to end.** The same backlog bulk-inserted as open requests, then `replan.do_replan_backlog` (loads,
   plans, writes the proposals, history and events): timed, and checked against phase 3's plan.

The 1-minute load average is sampled during each phase: the machine is shared.
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

from loadavg import LoadSampler  # bench/loadavg.py, beside this script
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEED = 20200317  # the first day of the 2020 lockdown in France

_TMP = tempfile.mkdtemp(prefix="entraide-match-bench-")
os.environ["ENTRAIDE_VAR_DIR"] = _TMP
for _name in ("DATABASE_URL", "REDIS_URL", "ENTRAIDE_GEOCODER_URL", "ENTRAIDE_AID_NOTIFY_FIRST",
              "ENTRAIDE_AID_RADIUS_M", "ENTRAIDE_AID_WIDE_RADIUS_M", "ENTRAIDE_AID_DELAYS"):
    os.environ.pop(_name, None)
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/bench.sqlite3"
os.environ["DJANGO_SETTINGS_MODULE"] = "entraide.settings"
os.environ.setdefault("LOG_LEVEL", "ERROR")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from shapely.geometry import shape  # noqa: E402

from entraide.accounts.models import Member  # noqa: E402
from entraide.aid import actions, batch  # noqa: E402
from entraide.aid.models import (TYPE_BITS, HelpOffer, HelpRequest, MatchProposal, RequestStatus,  # noqa: E402
                                 types_to_mask)
from entraide.aid.replan import _local_us, _slot_us, do_replan_backlog  # noqa: E402
from entraide.core import events  # noqa: E402
from entraide.core.errors import EntraideError  # noqa: E402
from entraide.places import geo  # noqa: E402
from entraide.places.actions import do_import_neighbourhoods  # noqa: E402
from entraide.places.models import Neighbourhood  # noqa: E402

TZ = ZoneInfo("Europe/Paris")
WEEK_START = datetime(2027, 1, 11, tzinfo=TZ)  # a Monday, far from any DST change
SHIFT = timedelta(days=21)  # the backlog's "surge Monday": same weekday and wall clock, no capacity used
TARGETS = {"matched_share": 0.97, "notify_p99_s": 1.0, "gap": 0.03, "batch_s": 10.0}
TYPE_P = {"groceries": 0.34, "pharmacy": 0.22, "phone_call": 0.09, "parcel_pickup": 0.06, "tech_help": 0.06,
          "pet_walking": 0.05, "childcare": 0.04, "printing": 0.04, "lending": 0.04, "internet_sharing": 0.03,
          "other": 0.03}
WINDOW_H = ([2, 4, 8, 24, 48], [0.2, 0.3, 0.25, 0.15, 0.1])


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)




# --- 1. seed -------------------------------------------------------------------------------------------------

def points_in(geom, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """`n` uniform random points inside a polygon (rejection sampling in its bounding box)."""
    min_x, min_y, max_x, max_y = geom.bounds
    shapely.prepare(geom)
    xs, ys = [], []
    got = 0
    while got < n:
        x = rng.uniform(min_x, max_x, 2 * (n - got) + 16)
        y = rng.uniform(min_y, max_y, len(x))
        inside = shapely.contains_xy(geom, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        got += int(inside.sum())
    return np.concatenate(ys)[:n], np.concatenate(xs)[:n]  # lat, lon


def seed(args, rng) -> dict:
    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    do_import_neighbourhoods(DATA / "paris-quartiers.geojson", name_field="l_qu", code_field="c_quinsee", city="Paris")
    quartiers = list(Neighbourhood.objects.filter(city__name="Paris").order_by("id"))
    geoms = [shape(q.geometry) for q in quartiers]
    area = np.array([g.area for g in geoms])
    nb_ids = np.array([q.id for q in quartiers])
    # Where people live: by area, times a lognormal "density" per quartier; requests also surge in 8 quartiers.
    density = rng.lognormal(0.0, 0.5, len(quartiers))
    w_help = area * density
    surge = rng.choice(len(quartiers), 8, replace=False)
    w_req = area * density * rng.lognormal(0.0, 0.5, len(quartiers))
    w_req[surge] *= 4
    hel_q = rng.choice(len(quartiers), args.helpers, p=w_help / w_help.sum())
    req_q = rng.choice(len(quartiers), args.requests, p=w_req / w_req.sum())

    def place(q_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lat, lon = np.zeros(len(q_of)), np.zeros(len(q_of))
        for q in np.unique(q_of):
            idx = np.flatnonzero(q_of == q)
            lat[idx], lon[idx] = points_in(geoms[q], len(idx), rng)
        return lat, lon

    hel_lat0, hel_lon0 = place(hel_q)
    req_lat0, req_lon0 = place(req_q)
    n_h, n_r = args.helpers, args.requests
    User = get_user_model()
    users = [User(username=f"h{i}", email=f"h{i}@exemple.fr", password="!") for i in range(n_h)]
    users += [User(username=f"r{i}", email=f"r{i}@exemple.fr", password="!") for i in range(n_r)]
    User.objects.bulk_create(users, batch_size=5000)
    user_ids = list(User.objects.order_by("id").values_list("id", flat=True))
    lat0 = np.r_[hel_lat0, req_lat0]
    lon0 = np.r_[hel_lon0, req_lon0]
    member_q = np.r_[hel_q, req_q]
    verified = np.r_[rng.random(n_h) < 0.85, np.ones(n_r, bool)]
    blurred = [geo.blur(a, b) for a, b in zip(lat0.tolist(), lon0.tolist())]
    now = WEEK_START - timedelta(days=30)
    members = [Member(user_id=user_ids[i], display_name=f"Membre {i} Test", language="fr",
                      address_text=f"{i} rue de Paris", lat=float(lat0[i]), lon=float(lon0[i]),
                      blurred_cell=blurred[i].cell, street_name="rue de Paris", location_precision="address",
                      neighbourhood_id=int(nb_ids[member_q[i]]),
                      verification_state="verified" if verified[i] else "pending",
                      verification_method="operator" if verified[i] else "",
                      verified_at=now if verified[i] else None) for i in range(n_h + n_r)]
    Member.objects.bulk_create(members, batch_size=5000)
    member_ids = np.array(Member.objects.order_by("user_id").values_list("id", flat=True))
    cell_lat = np.array([b.lat for b in blurred])
    cell_lon = np.array([b.lon for b in blurred])

    # Offers.
    types = list(TYPE_P)
    p_types = np.array(list(TYPE_P.values()))
    radius = (rng.uniform(500, 2000, n_h) // 50 * 50).astype(int)
    capacity = rng.integers(1, 6, n_h)
    masks, slots = [], []
    for i in range(n_h):
        chosen = rng.choice(len(types), rng.integers(1, 5), replace=False, p=p_types)
        masks.append(types_to_mask([types[j] for j in chosen]))
        if rng.random() < 0.4:
            slots.append([])
            continue
        s = []
        for day in sorted(rng.choice(7, rng.integers(2, 7), replace=False).tolist()):
            start_h = int(rng.choice([8, 9, 10, 14, 17, 18])) if day < 5 else int(rng.integers(8, 16))
            end_h = start_h + int(rng.integers(2, 5))
            s.append({"weekday": day, "start": f"{start_h:02d}:00", "end": f"{end_h:02d}:00"})
        slots.append(s)
    offers = [HelpOffer(helper_id=int(member_ids[i]), neighbourhood_id=int(nb_ids[hel_q[i]]), type_mask=masks[i],
                        radius_m=int(radius[i]), slots=slots[i], capacity_per_week=int(capacity[i]),
                        blurred_cell=blurred[i].cell, lat=float(cell_lat[i]), lon=float(cell_lon[i]))
              for i in range(n_h)]
    HelpOffer.objects.bulk_create(offers, batch_size=5000)

    # The week's requests (in memory: the online phase posts them through the actions).
    post_s = np.sort(rng.uniform(0, 7 * 86400, n_r))
    hour = (post_s / 3600) % 24
    # Fewer posts at night: move three quarters of the 0-7 h ones into the day.
    night = (hour < 7) & (rng.random(n_r) < 0.75)
    post_s[night] += 9 * 3600
    post_s = np.sort(np.minimum(post_s, 7 * 86400 - 1))
    req_type = rng.choice(types, n_r, p=p_types)
    lead_s = rng.choice([0, 0, 1800, 3600, 4 * 3600], n_r)
    length_h = rng.choice(WINDOW_H[0], n_r, p=WINDOW_H[1])
    urgency = rng.choice(["urgent", "normal", "low"], n_r, p=[0.15, 0.7, 0.15])
    at_risk = rng.random(n_r) < 0.08
    order = rng.permutation(n_r)  # who posts when
    requests = []
    for j in range(n_r):
        i = n_h + int(order[j])
        posted = WEEK_START + timedelta(seconds=float(post_s[j]))
        start = posted + timedelta(seconds=int(lead_s[j]))
        requests.append({"member_index": i, "member_id": int(member_ids[i]), "q": int(member_q[i]),
                         "nh": int(nb_ids[member_q[i]]), "lat": float(cell_lat[i]), "lon": float(cell_lon[i]),
                         "cell": blurred[i].cell, "type": str(req_type[j]), "posted": posted, "start": start,
                         "end": start + timedelta(hours=int(length_h[j])), "urgency": str(urgency[j]),
                         "at_risk": bool(at_risk[j])})
    helpers = {"member_id": member_ids[:n_h], "q": hel_q, "nh": nb_ids[hel_q], "lat": cell_lat[:n_h],
               "lon": cell_lon[:n_h], "radius": radius, "capacity": capacity, "mask": np.array(masks, np.int64),
               "slots": slots, "verified": verified[:n_h]}
    nearby = list(Neighbourhood.nearby.through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id"))
    help_per_q = np.bincount(hel_q, minlength=len(quartiers))
    req_per_q = np.bincount(req_q, minlength=len(quartiers))
    seconds = time.perf_counter() - t
    return {"quartiers": quartiers, "nb_ids": nb_ids, "helpers": helpers, "requests": requests, "nearby": nearby,
            "help_per_q": help_per_q, "req_per_q": req_per_q, "surge": surge, "seconds": seconds}


# --- 2. online -----------------------------------------------------------------------------------------------

def online(city: dict, args, rng) -> dict:
    reqs = city["requests"][: args.online]
    members = {m.id: m for m in Member.objects.filter(id__in=[r["member_id"] for r in reqs]).select_related("user")}
    helper_cache: dict[int, Member] = {}
    queue: list = []  # (simulated time, seq, kind, payload)
    seq = 0
    first_seen: dict[int, float] = {}  # request id -> perf_counter when its first request.proposed arrived
    first_sim: dict[int, datetime] = {}
    asked_total = 0

    def push(t: datetime, kind: str, payload) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(queue, (t, seq, kind, payload))

    def on_event(sender=None, *, event, **kw):
        nonlocal asked_total
        if event["type"] != "request.proposed":
            return
        rid = event["data"]["request_id"]
        first_seen.setdefault(rid, time.perf_counter())
        at = datetime.fromisoformat(event["data"]["notified_at"])
        first_sim.setdefault(rid, at)
        for h in event["data"]["helper_ids"]:
            asked_total += 1
            if rng.random() < args.accept:
                push(at + timedelta(minutes=float(rng.exponential(15))), "answer", (rid, h))

    events.event_published.connect(on_event, weak=False, dispatch_uid="bench-match")
    for j, r in enumerate(reqs):
        push(r["posted"], "post", j)
    last_end = max(r["end"] for r in reqs)
    t = WEEK_START
    while t <= last_end + timedelta(minutes=10):
        t += timedelta(minutes=10)
        push(t, "tick", None)
    latencies, ids, post_wall, accept_wall, tick_wall = [], [], 0.0, 0.0, 0.0
    accepted, conflicts = 0, 0
    try:
        while queue:
            at, _, kind, payload = heapq.heappop(queue)
            if kind == "post":
                r = reqs[payload]
                start = time.perf_counter()
                req = actions.do_create_request(members[r["member_id"]], type=r["type"],
                                                description="Courses et pharmacie pour la semaine, merci !",
                                                window_start=r["start"], window_end=r["end"], urgency=r["urgency"],
                                                at_risk=r["at_risk"], now=at)
                done = time.perf_counter()
                post_wall += done - start
                ids.append(req.id)
                if req.id in first_seen:
                    latencies.append(first_seen[req.id] - start)
            elif kind == "answer":
                rid, h = payload
                helper = helper_cache.get(h) or helper_cache.setdefault(
                    h, Member.objects.select_related("user").get(id=h))
                start = time.perf_counter()
                try:
                    actions.do_accept(helper, rid, now=at)
                    accepted += 1
                except EntraideError:
                    conflicts += 1
                accept_wall += time.perf_counter() - start
            else:
                start = time.perf_counter()
                actions.do_tick(at, limit=100_000)
                tick_wall += time.perf_counter() - start
    finally:
        events.event_published.disconnect(dispatch_uid="bench-match")
    status = dict(zip(ids, [None] * len(ids)))
    for rid, s in HelpRequest.objects.filter(id__in=ids).values_list("id", "status"):
        status[rid] = s
    matched = np.array([status[rid] in (RequestStatus.MATCHED, RequestStatus.DONE) for rid in ids])
    ratio = city["help_per_q"] / np.maximum(city["req_per_q"], 1)
    q = np.array([r["q"] for r in reqs])
    rich = ratio[q] >= 1.0
    lat = np.array(latencies)
    notify_min = np.array([(first_sim[rid] - reqs[j]["posted"]).total_seconds() / 60
                           for j, rid in enumerate(ids) if rid in first_sim])
    # Who was left without a helper: by urgency (escalation delay) and window length.
    lost = [j for j, rid in enumerate(ids) if not matched[j]]
    unmatched_by = {}
    for j in lost:
        r = reqs[j]
        key = f"{r['urgency']}, {int((r['end'] - r['start']).total_seconds() // 3600)} h window"
        unmatched_by[key] = unmatched_by.get(key, 0) + 1
    return {
        "unmatched_by_urgency_and_window": dict(sorted(unmatched_by.items(), key=lambda kv: -kv[1])),
        "posted": len(ids), "span": f"{reqs[0]['posted']:%a %H:%M} to {reqs[-1]['posted']:%a %H:%M} (simulated)",
        "matched_share": float(matched.mean()),
        "matched_share_helpers_outnumber": float(matched[rich].mean()) if rich.any() else None,
        "requests_where_helpers_outnumber": int(rich.sum()),
        "matched_share_elsewhere": float(matched[~rich].mean()) if (~rich).any() else None,
        "requests_elsewhere": int((~rich).sum()),
        "notified_at_posting_share": len(latencies) / len(ids),
        "notified_eventually_share": len(first_sim) / len(ids),
        "notify_p50_ms": float(np.percentile(lat, 50) * 1000), "notify_p99_ms": float(np.percentile(lat, 99) * 1000),
        "notify_max_ms": float(lat.max() * 1000),
        "notify_sim_p50_min": float(np.percentile(notify_min, 50)),
        "notify_sim_p99_min": float(np.percentile(notify_min, 99)),
        "posting_throughput_per_s": len(ids) / post_wall,
        "post_wall_s": post_wall, "accept_wall_s": accept_wall, "tick_wall_s": tick_wall,
        "accepts": accepted, "accept_conflicts": conflicts, "helpers_asked": asked_total,
        "status_counts": {s: int(sum(1 for v in status.values() if v == s)) for s in set(status.values())},
    }


# --- 3. batch on arrays --------------------------------------------------------------------------------------

def backlog_instance(city: dict, args, rng):
    """The whole week as one waiting backlog, three weeks later; 40 % of requests widened (waited already)."""
    widened = rng.random(len(city["requests"])) < 0.4
    reach = np.where(widened, settings.ENTRAIDE_AID_WIDE_RADIUS_M, settings.ENTRAIDE_AID_RADIUS_M)
    return widened, reach


def subset(hel: dict, n: int, rng) -> dict:
    """`n` of the helpers, drawn at random (a tighter instance: fewer helpers than requests in many cells)."""
    pick = np.sort(rng.choice(len(hel["lat"]), n, replace=False))
    return {k: ([v[i] for i in pick] if isinstance(v, list) else v[pick]) for k, v in hel.items()}


def batch_arrays(city: dict, hel: dict, reach: np.ndarray) -> dict:
    reqs = city["requests"]
    n_r, n_h = len(reqs), len(hel["lat"])
    t_prep = time.perf_counter()
    r_lat = np.array([r["lat"] for r in reqs])
    r_lon = np.array([r["lon"] for r in reqs])
    r_bit = np.array([TYPE_BITS[r["type"]] for r in reqs], np.int64)
    r_member = np.array([r["member_id"] for r in reqs], np.int64)
    r_risk = np.array([r["at_risk"] for r in reqs])
    win_s = np.array([_local_us(r["start"] + SHIFT, TZ) for r in reqs], np.int64)
    win_e = np.array([_local_us(r["end"] + SHIFT, TZ) for r in reqs], np.int64)
    win_long = np.array([r["end"] - r["start"] >= timedelta(days=7) for r in reqs])
    rows = [(i, _slot_us(s["weekday"], s["start"]), _slot_us(s["weekday"], s["end"]))
            for i, slots in enumerate(hel["slots"]) for s in slots]
    s_h, s_s, s_e = (np.array([x[k] for x in rows], np.int64) for k in range(3))
    ids = sorted(set(city["nb_ids"].tolist()))
    code = {n: i for i, n in enumerate(ids)}
    nc = len(ids)
    area = np.array(sorted({code[a] * nc + code[b] for a, b in city["nearby"]} | {i * nc + i for i in range(nc)}))
    r_code = np.array([code[r["nh"]] for r in reqs])
    h_code = np.array([code[int(n)] for n in hel["nh"]])
    h_member, h_verified = hel["member_id"], hel["verified"]

    def keep(r, h):
        ok = (r_member[r] != h_member[h]) & (~r_risk[r] | h_verified[h])
        ok &= np.isin(r_code[r] * nc + h_code[h], area)
        ok[ok] = batch.available(r[ok], h[ok], win_s, win_e, win_long, s_h, s_s, s_e, n_h)
        return ok

    prep_s = time.perf_counter() - t_prep
    args_ = (r_lat, r_lon, reach, r_bit, hel["lat"], hel["lon"], hel["radius"], hel["mask"])
    cap = hel["capacity"]
    with LoadSampler() as load:
        t = time.perf_counter()
        arcs_k = batch.candidate_arcs(*args_, k=batch.DEFAULT_K, keep=keep)
        arcs_s = time.perf_counter() - t
        planned = batch.plan(n_r, cap, arcs_k,
                             more=lambda idx: batch.candidate_arcs(*args_, k=None, keep=keep, only=idx))
        total_s = time.perf_counter() - t
    log(f"batch.plan: {planned.matched}/{n_r} matched, {planned.total_distance_m / 1000:.1f} km, "
        f"arcs {arcs_s:.2f} s + solve {planned.seconds:.2f} s in {planned.rounds} round(s)")
    t = time.perf_counter()
    arcs_all = batch.candidate_arcs(*args_, k=None, keep=keep)
    all_arcs_s = time.perf_counter() - t
    log(f"all allowed arcs: {len(arcs_all):,} in {all_arcs_s:.1f} s")
    planned.check(arcs_all, cap)
    exact_all = batch.plan(n_r, cap, arcs_all, k=None)
    log(f"batch.plan without pruning: {exact_all.matched} matched, {exact_all.seconds:.1f} s")
    greedy = batch.greedy(n_r, cap, arcs_all)
    with LoadSampler() as lp_load:
        reference = batch.lp_optimum(n_r, cap, arcs_all)
    log(f"reference LP: {reference.matched} matched, {reference.total_distance_m / 1000:.1f} km, "
        f"{reference.seconds:.1f} s")
    help_per_q = np.bincount(hel["q"], minlength=len(city["quartiers"]))
    ratio = help_per_q / np.maximum(city["req_per_q"], 1)
    q = np.array([r["q"] for r in reqs])
    rich = ratio[q] >= 1.0
    reachable = np.bincount(arcs_all.request, minlength=n_r) > 0

    def row(p: batch.Plan) -> dict:
        m = p.helper >= 0
        return {"matched": p.matched, "matched_share": p.matched / n_r,
                "matched_share_helpers_outnumber": float(m[rich].mean()), "total_km": p.total_distance_m / 1000,
                "mean_walk_m": p.total_distance_m / max(p.matched, 1), "seconds": p.seconds, "arcs": p.arcs,
                "rounds": p.rounds}

    gap = (planned.total_distance_m - reference.total_distance_m) / reference.total_distance_m
    return {"requests": n_r, "helpers": n_h, "capacity_units": int(cap.sum()),
            "requests_where_helpers_outnumber": int(rich.sum()),
            "requests_with_a_candidate": int(reachable.sum()), "all_arcs": len(arcs_all), "all_arcs_s": all_arcs_s,
            "prep_s": prep_s, "arcs_k_s": arcs_s, "plan_total_s": total_s, "load": load.summary(),
            "lp_load": lp_load.summary(),
            "plan": row(planned), "plan_all_arcs": row(exact_all), "reference": row(reference), "greedy": row(greedy),
            "gap_to_reference": gap, "matched_vs_reference": planned.matched - reference.matched,
            "greedy_gap": (greedy.total_distance_m - reference.total_distance_m) / reference.total_distance_m,
            "_plan": planned}


# --- 4. end to end -------------------------------------------------------------------------------------------

def end_to_end(city: dict, reach: np.ndarray, widened: np.ndarray, arrays: dict) -> dict:
    reqs = city["requests"]
    created = WEEK_START + SHIFT - timedelta(hours=1)
    rows = [HelpRequest(neighbourhood_id=r["nh"], requester_id=r["member_id"], type=r["type"],
                        description="Courses et pharmacie pour la semaine, merci !", window_start=r["start"] + SHIFT,
                        window_end=r["end"] + SHIFT, urgency=r["urgency"], at_risk=r["at_risk"],
                        blurred_cell=r["cell"], lat=r["lat"], lon=r["lon"], status=RequestStatus.OPEN,
                        search_radius_m=int(reach[j]), escalation=1 if widened[j] else 0,
                        next_check_at=created) for j, r in enumerate(reqs)]
    t = time.perf_counter()
    HelpRequest.objects.bulk_create(rows, batch_size=5000)
    insert_s = time.perf_counter() - t
    heard = [0]

    def on_event(sender=None, *, event, **kw):
        if event["type"] == "request.proposed" and event["data"].get("source") == "batch":
            heard[0] += 1

    events.event_published.connect(on_event, weak=False, dispatch_uid="bench-match-replan")
    try:
        with LoadSampler() as load:
            t = time.perf_counter()
            result = do_replan_backlog(None, city_id=city["quartiers"][0].city_id, now=WEEK_START + SHIFT)
            wall = time.perf_counter() - t
    finally:
        events.event_published.disconnect(dispatch_uid="bench-match-replan")
    planned = arrays["_plan"]
    return {"insert_s": insert_s, "wall_s": wall, **result.as_dict(), "events_delivered": heard[0],
            "load": load.summary(),
            "same_as_arrays": result.proposed == planned.matched
            and abs(result.total_distance_m - int(np.nansum(np.floor(planned.distance_m)))) <= 1,
            "batch_proposals_in_db": MatchProposal.objects.filter(source="batch").count()}


# --- report --------------------------------------------------------------------------------------------------

def markdown(report: dict) -> str:
    o, b, e = report["online"], report["batch"], report["end_to_end"]
    pct = lambda x: "—" if x is None else f"{100 * x:.1f} %"  # noqa: E731
    lines = [
        "| Measure | Figure | Target | Met? |", "|---|---:|---:|---|",
        f"| Online: requests matched, quartiers where helpers ≥ requests ({o['requests_where_helpers_outnumber']:,} "
        f"requests) | {pct(o['matched_share_helpers_outnumber'])} | ≥ 97 % | "
        f"{'yes' if (o['matched_share_helpers_outnumber'] or 0) >= 0.97 else '**no**'} |",
        f"| Online: requests matched, other quartiers ({o['requests_elsewhere']:,} requests) | "
        f"{pct(o['matched_share_elsewhere'])} | — | — |",
        f"| Online: requests matched, all ({o['posted']:,}) | {pct(o['matched_share'])} | — | — |",
        f"| Online: posting → first helper notified (event delivered), p50 / p99 / max | "
        f"{o['notify_p50_ms']:.0f} / {o['notify_p99_ms']:.0f} / {o['notify_max_ms']:.0f} ms "
        f"({pct(o['notified_at_posting_share'])} notified at posting) | p99 < 1 s | "
        f"{'yes' if o['notify_p99_ms'] < 1000 else '**no**'} |",
        f"| Online: posting throughput (do_create_request, one process) | {o['posting_throughput_per_s']:.0f} "
        f"requests/s | — | — |",
        f"| Batch ({b['requests']:,} × {b['helpers']:,}): total walk vs reference optimum | "
        f"{b['plan']['total_km']:,.1f} km vs {b['reference']['total_km']:,.1f} km: "
        f"{round(100 * b['gap_to_reference'], 3) + 0:+.3f} % "
        f"(matched {b['plan']['matched']:,} vs {b['reference']['matched']:,}) "
        f"| ≤ +3 % | {'yes' if b['gap_to_reference'] <= 0.03 and b['matched_vs_reference'] >= 0 else '**no**'} |",
        f"| Batch: run time, arcs (k = 30) + solve | {b['arcs_k_s']:.2f} s + {b['plan']['seconds']:.2f} s = "
        f"{b['plan_total_s']:.2f} s | < 10 s | {'yes' if b['plan_total_s'] < 10 else '**no**'} |",
        f"| Batch end to end: do_replan_backlog (load + plan + write {e['proposed']:,} proposals) | "
        f"{e['wall_s']:.1f} s (load {e['load_seconds']:.1f} + plan {e['plan_seconds']:.1f} + write "
        f"{e['write_seconds']:.1f}) | — | — |",
        f"| Reference: HiGHS LP over all {b['all_arcs']:,} allowed arcs | {b['reference']['seconds']:.1f} s | — | — |",
        f"| Greedy baseline (posting order, nearest with capacity) | {b['greedy']['total_km']:,.1f} km, "
        f"{100 * b['greedy_gap']:+.2f} %, matched {b['greedy']['matched']:,} | — | — |",
    ]
    t = report.get("batch_tight")
    if t:
        lines += [
            f"| Tight batch ({t['requests']:,} × {t['helpers']:,}): matched, plan vs reference | "
            f"{t['plan']['matched']:,} vs {t['reference']['matched']:,} (where helpers ≥ requests: "
            f"{pct(t['plan']['matched_share_helpers_outnumber'])}) | — | — |",
            f"| Tight batch: total walk vs reference optimum | {t['plan']['total_km']:,.1f} km vs "
            f"{t['reference']['total_km']:,.1f} km: {round(100 * t['gap_to_reference'], 3) + 0:+.3f} % | ≤ +3 % | "
            f"{'yes' if t['gap_to_reference'] <= 0.03 and t['matched_vs_reference'] >= 0 else '**no**'} |",
            f"| Tight batch: run time, arcs + solve; reference LP ({t['all_arcs']:,} arcs) | "
            f"{t['arcs_k_s']:.2f} s + {t['plan']['seconds']:.2f} s; LP {t['reference']['seconds']:.1f} s | — | — |",
            f"| Tight batch: greedy baseline | {t['greedy']['total_km']:,.1f} km, matched {t['greedy']['matched']:,} "
            f"| — | — |",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--helpers", type=int, default=50_000)
    parser.add_argument("--online", type=int, default=6_000, help="requests posted through the actions")
    parser.add_argument("--accept", type=float, default=0.5, help="probability that a helper asked says yes")
    parser.add_argument("--tight-helpers", type=int, default=10_000,
                        help="also plan the backlog against only this many helpers (0: skip)")
    parser.add_argument("--json-out", help="also write the report as JSON to this file")
    args = parser.parse_args()
    args.online = min(args.online, args.requests)
    rng = np.random.default_rng(SEED)
    report: dict = {"command": " ".join(["bench/match.py", *sys.argv[1:]]),
                    "date": datetime.now(dt_timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                "numpy": np.__version__, "scipy": __import__("scipy").__version__,
                                "sqlite": connection.Database.sqlite_version}}
    try:
        with LoadSampler() as load:
            log(f"seeding {args.helpers:,} helpers and {args.requests:,} requesters in {_TMP}")
            city = seed(args, rng)
        log(f"seeded in {city['seconds']:.0f} s")
        report["seed"] = {"seconds": city["seconds"], "quartiers": len(city["quartiers"]),
                          "quartiers_helpers_outnumber": int((city["help_per_q"] >= city["req_per_q"]).sum()),
                          "surge_quartiers": [city["quartiers"][i].name for i in city["surge"]], **load.summary()}
        with LoadSampler() as load:
            log(f"online: posting the first {args.online:,} requests of the week through the actions")
            report["online"] = online(city, args, rng)
            report["online"].update(load.summary())
        log(f"online: {json.dumps({k: v for k, v in report['online'].items() if 'share' in k or 'p99' in k})}")
        widened, reach = backlog_instance(city, args, rng)
        log("batch on arrays: the whole week as one backlog")
        report["batch"] = batch_arrays(city, city["helpers"], reach)
        if args.tight_helpers:
            log(f"batch on arrays, tight: the same backlog × {args.tight_helpers:,} of the helpers")
            report["batch_tight"] = batch_arrays(city, subset(city["helpers"], args.tight_helpers, rng), reach)
            report["batch_tight"].pop("_plan")
        log("batch end to end: do_replan_backlog on the database")
        report["end_to_end"] = end_to_end(city, reach, widened, report["batch"])
        log(f"end to end: {report['end_to_end']}")
        report["batch"].pop("_plan")
        print(json.dumps(report, indent=2, default=str))
        print()
        print(markdown(report))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(report, indent=2, default=str))
    finally:
        connection.close()
        shutil.rmtree(_TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
