"""Benchmark of the neighbourhood index and the offline geocoder (`make bench`).

Point lookups are measured without any database: `NeighbourhoodIndex` is built straight from the GeoJSON files
and compared with what a caller would write with shapely alone (an STRtree of the same polygons). Geocoding needs
the gazetteer tables, so it runs on a throwaway SQLite database in a temporary directory.

Every timing is the best of 3 runs after a warm-up, with `time.perf_counter`. Results are also checked:
the index must answer exactly what the reference answers.
"""
from __future__ import annotations

import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
SEED = 20240601
SINGLE_POINTS = 200_000
BULK_POINTS = 1_000_000
RUNS = 3

# The throwaway database and the offline-only settings must be in place before Django reads its settings.
_TMP = tempfile.mkdtemp(prefix="entraide-bench-")
os.environ["ENTRAIDE_VAR_DIR"] = _TMP
for _name in ("DATABASE_URL", "REDIS_URL", "ENTRAIDE_GEOCODER_URL"):
    os.environ.pop(_name, None)
os.environ["DJANGO_SETTINGS_MODULE"] = "entraide.settings"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import json  # noqa: E402

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from shapely.geometry import shape  # noqa: E402

from entraide.places.geo import NeighbourhoodIndex  # noqa: E402


def best_of(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    """Best wall time of `runs` calls (after one warm-up call) and the last result."""
    fn()
    best = float("inf")
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def best_of_pair(project: Callable[[], Any], reference: Callable[[], Any],
                 runs: int = RUNS) -> tuple[float, Any, float, Any]:
    """`best_of` for both sides, run alternately so that a load spike on a shared machine hits both alike."""
    project()
    reference()
    best_p = best_r = float("inf")
    result_p = result_r = None
    for _ in range(runs):
        start = time.perf_counter()
        result_p = project()
        best_p = min(best_p, time.perf_counter() - start)
        start = time.perf_counter()
        result_r = reference()
        best_r = min(best_r, time.perf_counter() - start)
    return best_p, result_p, best_r, result_r


def timed_once(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def load(filename: str) -> list:
    with open(DATA / filename, encoding="utf-8") as handle:
        return [shape(f["geometry"]) for f in json.load(handle)["features"]]


def reference_assignment(pairs: np.ndarray, count: int) -> np.ndarray:
    """What a caller does with STRtree pairs: one polygon per point, -1 for none (first polygon on overlaps)."""
    out = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, pairs[0], pairs[1])
    out[out == np.iinfo(np.int64).max] = -1
    return out


def bench_dataset(label: str, filename: str, rows: list[dict], checks: list[str]) -> None:
    geometries = load(filename)
    ids = list(range(len(geometries)))  # ids equal positions, so both sides answer in the same terms

    build_index_s, _, build_tree_s, _ = best_of_pair(lambda: NeighbourhoodIndex(ids, geometries),
                                                     lambda: shapely.STRtree(geometries))
    index = NeighbourhoodIndex(ids, geometries)
    tree = shapely.STRtree(geometries)
    # The reference gets prepared polygons too, as a careful caller would do.
    for geometry in geometries:
        shapely.prepare(geometry)

    minx, miny, maxx, maxy = shapely.total_bounds(geometries)
    rng = np.random.default_rng(SEED)
    lons = rng.uniform(minx, maxx, SINGLE_POINTS)
    lats = rng.uniform(miny, maxy, SINGLE_POINTS)
    lon_list, lat_list = lons.tolist(), lats.tolist()

    # (a) one point at a time, as a request handler does.
    locate = index.locate

    def project_single() -> list:
        return [locate(lat, lon) for lat, lon in zip(lat_list, lon_list)]

    query = tree.query
    Point = shapely.Point

    def reference_single() -> list:
        return [query(Point(lon, lat), predicate="within") for lat, lon in zip(lat_list, lon_list)]

    single_s, project_answers, single_ref_s, reference_answers = best_of_pair(project_single, reference_single)
    single_ok = sum(
        (mine if mine is not None else -1) == (int(ref.min()) if len(ref) else -1)
        for mine, ref in zip(project_answers, reference_answers)
    )
    checks.append(f"{label}, single lookups: {single_ok:,} / {SINGLE_POINTS:,} points agree with the STRtree loop")
    inside_share = sum(a is not None for a in project_answers) / SINGLE_POINTS

    # (b) a million points at once.
    bulk_lons = rng.uniform(minx, maxx, BULK_POINTS)
    bulk_lats = rng.uniform(miny, maxy, BULK_POINTS)

    def project_bulk() -> np.ndarray:
        return index.locate_many(bulk_lats, bulk_lons)

    def reference_bulk_with_points() -> np.ndarray:
        points = shapely.points(bulk_lons, bulk_lats)
        return reference_assignment(tree.query(points, predicate="within"), BULK_POINTS)

    prebuilt = shapely.points(bulk_lons, bulk_lats)

    def reference_bulk_prebuilt() -> np.ndarray:
        return reference_assignment(tree.query(prebuilt, predicate="within"), BULK_POINTS)

    bulk_s, bulk_answers, bulk_ref_s, bulk_reference = best_of_pair(project_bulk, reference_bulk_with_points)
    bulk_ref_pre_s, _ = best_of(reference_bulk_prebuilt)
    bulk_ok = int((bulk_answers == bulk_reference).sum())
    checks.append(f"{label}, bulk assignment: {bulk_ok:,} / {BULK_POINTS:,} points agree with STRtree.query")
    consistent = int((index.locate_many(lats, lons) == np.array([-1 if a is None else a for a in project_answers])).sum())
    checks.append(f"{label}, locate_many vs locate: {consistent:,} / {SINGLE_POINTS:,} points agree")

    mixed_share = float((index.grid == -2).mean())
    n = f"{len(geometries):,}"
    rows.append({"what": f"{label} ({n} polygons): index build", "project": f"{build_index_s * 1000:.0f} ms",
                 "reference": f"{build_tree_s * 1e6:,.0f} µs (bare STRtree)",
                 "ratio": f"{build_tree_s / build_index_s:.4f}× (paid once per process)"})
    rows.append({"what": f"{label}: single-point lookups/s ({SINGLE_POINTS:,} pts, {inside_share:.0%} inside)",
                 "project": f"{SINGLE_POINTS / single_s:,.0f}", "reference": f"{SINGLE_POINTS / single_ref_s:,.0f}",
                 "ratio": f"{single_ref_s / single_s:.2f}×"})
    rows.append({"what": f"{label}: bulk assignment of {BULK_POINTS:,} pts (reference builds shapely.points)",
                 "project": f"{bulk_s * 1000:,.0f} ms", "reference": f"{bulk_ref_s * 1000:,.0f} ms",
                 "ratio": f"{bulk_ref_s / bulk_s:.2f}×"})
    rows.append({"what": f"{label}: bulk assignment, reference given prebuilt points",
                 "project": f"{bulk_s * 1000:,.0f} ms", "reference": f"{bulk_ref_pre_s * 1000:,.0f} ms",
                 "ratio": f"{bulk_ref_pre_s / bulk_s:.2f}×"})
    print(f"  {label}: grid {index.nx}×{index.ny} cells of {index.cell:.5f}°, {mixed_share:.1%} of cells need the exact test",
          flush=True)


# --- geocoding --------------------------------------------------------------------------------------------

ABBREVIATIONS = {"avenue": "av", "boulevard": "bd", "rue": "r", "place": "pl", "saint": "st", "sainte": "ste",
                 "faubourg": "fbg", "docteur": "dr", "general": "gal", "quai": "q"}


def typo(word: str, rnd: random.Random) -> str:
    """One slip of the finger: two letters swapped or one dropped."""
    if len(word) < 5:
        return word
    i = rnd.randrange(1, len(word) - 2)
    if rnd.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:]


def geocoding_queries() -> list[tuple[str, float, float]]:
    """Typed queries built from the address sample, each with the true point: full, abbreviated, without postcode,
    with a typo, in lower case without accents."""
    import csv
    import unicodedata

    rnd = random.Random(SEED)
    queries = []
    with open(DATA / "paris-adresses-sample.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            number = row["numero"] + (f" {row['rep']}" if row["rep"] else "")
            street, postcode = row["nom_voie"], row["code_postal"]
            lat, lon = float(row["lat"]), float(row["lon"])
            words = street.split()
            plain = unicodedata.normalize("NFKD", street).encode("ascii", "ignore").decode().lower()
            abbreviated = " ".join(ABBREVIATIONS.get(w.lower(), w) for w in plain.split())
            longest = max(range(len(words)), key=lambda k: len(words[k]))
            misspelt = " ".join(typo(w, rnd) if k == longest else w for k, w in enumerate(words))
            queries += [
                (f"{number} {street}, {postcode} Paris", lat, lon),
                (f"{number} {abbreviated} {postcode}", lat, lon),
                (f"{number} {street} Paris", lat, lon),
                (f"{number} {misspelt}, {postcode} Paris", lat, lon),
                (f"{number} {plain} paris", lat, lon),
            ]
    return queries


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111_320
    dx = (lon2 - lon1) * 111_320 * np.cos(np.radians(lat1))
    return float(np.hypot(dx, dy))


def bench_geocoding(rows: list[dict], checks: list[str]) -> None:
    from django.core.management import call_command

    try:
        from entraide.places.gazetteer import import_addresses, import_postcodes
        from entraide.places.geocoding import geocode
    except ImportError as exc:
        checks.append(f"geocoding: not measured ({exc})")
        return

    call_command("migrate", verbosity=0)
    load_s, _ = timed_once(lambda: import_addresses(DATA / "paris-adresses-sample.csv"))
    postcodes_s, count = timed_once(lambda: import_postcodes(DATA / "geonames-postcodes-fr.csv"))
    queries = geocoding_queries()

    def run() -> list:
        return [geocode(text, limit=5) for text, _lat, _lon in queries]

    first_s, _ = timed_once(run)
    best_s, answers = best_of(run)
    good = sum(1 for (text, lat, lon), found in zip(queries, answers)
               if found and distance_m(lat, lon, found[0].lat, found[0].lon) <= 50)
    checks.append(f"geocoding: {good:,} / {len(queries):,} typed queries put the true address first (within 50 m)")
    rows.append({"what": f"Geocoding, {len(queries):,} typed queries (SQLite, offline gazetteer; "
                         f"{count:,} postcode areas)",
                 "project": f"{len(queries) / best_s:,.0f} queries/s (first pass {len(queries) / first_s:,.0f}/s)",
                 "reference": "—", "ratio": "—"})
    print(f"  gazetteer loaded: addresses {load_s:.2f} s, postcodes {postcodes_s:.2f} s", flush=True)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), numpy {np.__version__}")


def main() -> None:
    print(f"# Entraide geo benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"Machine: {machine()}")
    print(f"Points uniform in each bounding box, seed {SEED}; best of {RUNS} runs after a warm-up.\n", flush=True)
    rows: list[dict] = []
    checks: list[str] = []
    try:
        bench_dataset("Paris quartiers", "paris-quartiers.geojson", rows, checks)
        bench_dataset("Ile-de-France communes", "ile-de-france-communes.geojson", rows, checks)
        bench_geocoding(rows, checks)
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
    print()
    print("| Measure | Entraide | Reference (shapely) | Ratio (Entraide speed / reference speed) |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['what']} | {row['project']} | {row['reference']} | {row['ratio']} |")
    print("\nCorrectness:")
    for line in checks:
        print(f"- {line}")


if __name__ == "__main__":
    main()
