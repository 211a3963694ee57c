"""Point-to-neighbourhood lookup and position blurring.

The index rasterises the polygons onto a fine lon/lat grid once. A grid cell that no boundary
crosses lies wholly inside one neighbourhood (or outside all), so a point falling in it needs no
polygon test at all: one array read. Only points in the thin band of cells that a boundary
crosses are tested exactly against the polygons (shapely STRtree). Bulk lookups do the same with
numpy over whole arrays.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import h3
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from django.conf import settings

OUTSIDE = -1
MIXED = -2
# How many grid cells the raster may hold; the cell edge never goes below MIN_CELL_DEG (about 40 m).
MAX_GRID_CELLS = 1_500_000
MIN_CELL_DEG = 0.0004


class NeighbourhoodIndex:
    def __init__(self, ids: list[int], geometries: list[BaseGeometry]) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self._id_list = [int(i) for i in ids]
        self.geometries = list(geometries)
        self.tree = shapely.STRtree(self.geometries)
        for geometry in self.geometries:
            shapely.prepare(geometry)
        if not self.geometries:
            self.minx = self.miny = 0.0
            self.cell = 1.0
            self.nx = self.ny = 0
            self.grid = np.zeros((0, 0), dtype=np.int32)
            self._flat: list[int] = []
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.geometries)
        width, height = maxx - minx, maxy - miny
        self.cell = max(MIN_CELL_DEG, math.sqrt(max(width * height, 1e-12) / MAX_GRID_CELLS))
        self.minx, self.miny = float(minx), float(miny)
        self.nx = int(math.ceil(width / self.cell)) + 1
        self.ny = int(math.ceil(height / self.cell)) + 1
        self.grid = self._rasterise()
        # A flat Python list reads faster than numpy indexing for one point at a time.
        self._flat = self.grid.ravel().tolist()

    def _rasterise(self) -> np.ndarray:
        grid = np.full((self.ny, self.nx), OUTSIDE, dtype=np.int32)
        # Painted from the last polygon to the first so that, where polygons overlap, the first one wins,
        # as it does in the exact tests below: the answer must not depend on which path a point takes.
        for index in range(len(self.geometries) - 1, -1, -1):
            geometry = self.geometries[index]
            gx0, gy0, gx1, gy1 = geometry.bounds
            ix0, iy0 = self._cell_of(gx0, gy0)
            ix1, iy1 = self._cell_of(gx1, gy1)
            xs = self.minx + (np.arange(ix0, ix1 + 1) + 0.5) * self.cell
            ys = self.miny + (np.arange(iy0, iy1 + 1) + 0.5) * self.cell
            cx, cy = np.meshgrid(xs, ys)
            inside = shapely.contains_xy(geometry, cx, cy)
            window = grid[iy0:iy1 + 1, ix0:ix1 + 1]
            window[inside] = index
        # Every cell a boundary crosses is marked MIXED: boundaries are sampled at half a cell, so any
        # crossed cell holds a sample or is one of the 8 neighbours of a cell that does.
        boundaries = shapely.segmentize(shapely.boundary(self.geometries), self.cell / 2)
        coords = shapely.get_coordinates(boundaries)
        bx = np.floor((coords[:, 0] - self.minx) / self.cell).astype(np.int64)
        by = np.floor((coords[:, 1] - self.miny) / self.cell).astype(np.int64)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                x = np.clip(bx + dx, 0, self.nx - 1)
                y = np.clip(by + dy, 0, self.ny - 1)
                grid[y, x] = MIXED
        return grid

    def _cell_of(self, lon: float, lat: float) -> tuple[int, int]:
        ix = min(max(int((lon - self.minx) / self.cell), 0), self.nx - 1)
        iy = min(max(int((lat - self.miny) / self.cell), 0), self.ny - 1)
        return ix, iy

    def locate(self, lat: float, lon: float) -> int | None:
        """The id of the neighbourhood containing the point, or None."""
        fx = (lon - self.minx) / self.cell
        fy = (lat - self.miny) / self.cell
        if not (0 <= fx < self.nx and 0 <= fy < self.ny):
            return None
        label = self._flat[int(fy) * self.nx + int(fx)]
        if label >= 0:
            return self._id_list[label]
        if label == OUTSIDE:
            return None
        return self._exact(lat, lon)

    def _exact(self, lat: float, lon: float) -> int | None:
        point = shapely.Point(lon, lat)
        # The tree answers in its own order; sorting makes overlapping polygons resolve to the first one.
        for index in sorted(self.tree.query(point).tolist()):
            if shapely.contains_xy(self.geometries[index], lon, lat):
                return self._id_list[index]
        # A point exactly on a shared border belongs to the first neighbourhood that touches it.
        hits = self.tree.query(point, predicate="intersects")
        return self._id_list[int(hits.min())] if len(hits) else None

    def locate_many(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Vectorised `locate`: an array of neighbourhood ids, -1 where a point is outside them all."""
        lats = np.asarray(lats, dtype=np.float64)
        lons = np.asarray(lons, dtype=np.float64)
        labels = np.full(lats.shape, OUTSIDE, dtype=np.int64)
        if self.nx == 0:
            return labels
        fx = (lons - self.minx) / self.cell
        fy = (lats - self.miny) / self.cell
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        labels[inside] = self.grid[fy[inside].astype(np.int64), fx[inside].astype(np.int64)]
        mixed = np.flatnonzero(labels == MIXED)
        if len(mixed):
            labels[mixed] = OUTSIDE
            points = shapely.points(lons[mixed], lats[mixed])
            labels[mixed] = _first_hit(self.tree.query(points, predicate="within"), len(mixed))
            # Same rule as `locate` for a point exactly on a border: the first neighbourhood touching it.
            missed = np.flatnonzero(labels[mixed] == OUTSIDE)
            if len(missed):
                hits = _first_hit(self.tree.query(points[missed], predicate="intersects"), len(missed))
                labels[mixed[missed]] = hits
        result = np.full(lats.shape, -1, dtype=np.int64)
        found = labels >= 0
        result[found] = self.ids[labels[found]]
        return result


def _first_hit(pairs: np.ndarray, count: int) -> np.ndarray:
    """For each of `count` points, the lowest polygon position among the (point, polygon) pairs, or OUTSIDE."""
    best = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, pairs[0], pairs[1])
    best[best == np.iinfo(np.int64).max] = OUTSIDE
    return best


_lock = threading.Lock()
_index: NeighbourhoodIndex | None = None
_stamp: tuple | None = None
_checked_at = 0.0
# How often a process looks whether another process changed the neighbourhoods.
STAMP_CHECK_SECONDS = 10.0


def _current_stamp() -> tuple:
    from django.db.models import Count, Max

    from .models import Neighbourhood

    agg = Neighbourhood.objects.aggregate(n=Count("id"), changed=Max("updated_at"))
    return (agg["n"], agg["changed"])


def get_index() -> NeighbourhoodIndex:
    """The process-wide index, rebuilt when the neighbourhoods table changed."""
    global _index, _stamp, _checked_at
    now = time.monotonic()
    if _index is not None and now - _checked_at < STAMP_CHECK_SECONDS:
        return _index
    with _lock:
        stamp = _current_stamp()
        _checked_at = time.monotonic()
        if _index is None or stamp != _stamp:
            _index = build_index()
            _stamp = stamp
        return _index


def invalidate_index() -> None:
    global _index, _stamp
    with _lock:
        _index = None
        _stamp = None


def build_index() -> NeighbourhoodIndex:
    from .models import Neighbourhood

    rows = list(Neighbourhood.objects.values_list("id", "geometry"))
    return NeighbourhoodIndex([r[0] for r in rows], [shapely.geometry.shape(r[1]) for r in rows])


@dataclass(frozen=True)
class BlurredPoint:
    cell: str
    lat: float
    lon: float


def blur(lat: float, lon: float) -> BlurredPoint:
    """The public stand-in for a private point: the centre of its H3 cell (stable, so it cannot be averaged away)."""
    cell = h3.latlng_to_cell(lat, lon, settings.ENTRAIDE_BLUR_RESOLUTION)
    clat, clon = h3.cell_to_latlng(cell)
    return BlurredPoint(cell, round(clat, 6), round(clon, 6))


def cell_centre(cell: str) -> tuple[float, float]:
    clat, clon = h3.cell_to_latlng(cell)
    return round(clat, 6), round(clon, 6)


def valid_lat_lon(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180
