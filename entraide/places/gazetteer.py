"""Imports of the offline gazetteer: Base Adresse Nationale addresses and GeoNames postcode centroids.

Pure functions doing database writes; pages, actions and management commands call them. Each import is
all-or-nothing (one transaction) and can be repeated: rows already present are refreshed, not duplicated.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Avg, Count, Model, OuterRef, Subquery

from entraide.core.errors import EntraideError

from .models import Address, PostcodeArea, Street, StreetToken
from .textnorm import normalize, normalize_city, significant_tokens

Progress = Callable[[int], None]
Source = str | Path | IO[str] | IO[bytes]

ADDRESS_COLUMNS = ("id", "numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune", "lon", "lat")
POSTCODE_COLUMNS = ("country_code", "postal_code", "place_name", "latitude", "longitude")
MAX_REPORTED = 50  # problems quoted in an error message
MAX_KEPT = 1000  # problems kept in a result: a badly broken national file must not fill memory
_SEP = "\x1f"  # street keys are one joined string: a third of the memory of a tuple for a national file
_CHUNK = 500  # ids or names per IN (...) clause, below every backend's parameter limit
_SPECIAL_POSTCODE = re.compile(r"\s(cedex|cidex|sp|air|cityssimo)\b", re.IGNORECASE)


class GazetteerError(EntraideError):
    """An import file that cannot be used; nothing was written. ``problems`` lists what is wrong, by line."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__("gazetteer_invalid_file", message, status=400)
        self.problems = problems or []


@dataclass
class AddressImportResult:
    rows: int = 0  # data rows read
    addresses: int = 0  # addresses written (created or refreshed)
    streets: int = 0  # distinct streets in the file
    streets_created: int = 0
    problem_count: int = 0  # broken rows skipped (only with keep_good_rows=True)
    problems: list[str] = field(default_factory=list)  # the first MAX_KEPT of them

    def summary(self) -> str:
        """One line for the operator who ran the import (the broken rows are reported one by one elsewhere)."""
        line = (f"{self.rows} row(s) read: {self.addresses} address(es) written, {self.streets} street(s) "
                f"({self.streets_created} new)")
        if self.problem_count:
            line += f", {self.problem_count} broken row(s) skipped"
        return line


class _Problems:
    def __init__(self) -> None:
        self.count = 0
        self.kept: list[str] = []

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_KEPT:
            self.kept.append(f"line {line}: {message}")

    def error(self) -> GazetteerError:
        shown = "\n".join(self.kept[:MAX_REPORTED])
        more = f"\n… and {self.count - MAX_REPORTED} more" if self.count > MAX_REPORTED else ""
        return GazetteerError(f"{self.count} broken row(s), nothing was imported:\n{shown}{more}", self.kept)


@contextmanager
def _open_text(source: Source) -> Iterator[IO[str]]:
    if hasattr(source, "read"):
        sample = source.read(0)  # type: ignore[union-attr]
        # Uploaded files are binary; decode lazily so the whole file is never held in memory.
        yield codecs.getreader("utf-8-sig")(source) if isinstance(sample, bytes) else source  # type: ignore[misc]
        return
    path = Path(source)
    if not path.exists():
        raise GazetteerError(f"file not found: {path}")
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        yield handle


def _read_header(reader: Iterator[list[str]], required: tuple[str, ...], delimiter: str) -> dict[str, int]:
    try:
        header = next(reader)
    except StopIteration:
        raise GazetteerError("the file is empty") from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        hint = ""
        if len(names) == 1 and names[0]:
            hint = f" (is the file separated by '{delimiter}'?)"
        raise GazetteerError(f"wrong header, missing column(s): {', '.join(missing)}{hint}")
    return {name: names.index(name) for name in names}


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Rows with their line number; a file that is not UTF-8 is an error rather than mojibake."""
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row
    except UnicodeDecodeError:
        raise GazetteerError(f"line {reader.line_num + 1}: the file is not UTF-8 text") from None
    except csv.Error as exc:
        raise GazetteerError(f"line {reader.line_num}: {exc}") from None


def _coordinate(row: list[str], index: int, name: str, limit: float) -> float:
    raw = row[index].strip()
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} '{raw}' is not a number") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"{name} '{raw}' is out of range (-{limit:g}..{limit:g})")
    return value


@lru_cache(maxsize=65536)
def _street_norm(name: str) -> str:
    return normalize(name)


@lru_cache(maxsize=16384)
def _city_norm(name: str) -> str:
    return normalize_city(name)


def import_addresses(path_or_file: Source, *, progress: Progress | None = None, keep_good_rows: bool = False,
                     batch_size: int = 5000) -> AddressImportResult:
    """Import a Base Adresse Nationale CSV (``adresses-XX.csv`` or ``.csv.gz``), streaming it row by row.

    ``progress`` is called with the number of rows just read (tqdm's ``update``). Any broken row makes the
    whole import fail with a GazetteerError unless ``keep_good_rows``, which skips and reports them instead.
    """
    result = AddressImportResult()
    problems = _Problems()
    street_ids: dict[str, int] = {}  # name_norm, postcode, insee joined by _SEP → id, for the streets of this file
    with _open_text(path_or_file) as handle, transaction.atomic():
        reader = csv.reader(handle, delimiter=";")
        col = _read_header(reader, ADDRESS_COLUMNS, ";")
        width = max(col[c] for c in ADDRESS_COLUMNS) + 1
        batch: list[tuple[str, str, str, str, str, int, str, float, float, str]] = []
        read_since_progress = 0
        for line, row in _rows(reader):
            result.rows += 1
            read_since_progress += 1
            if len(row) < width:
                problems.add(line, f"expected at least {width} columns, found {len(row)}")
                continue
            try:
                street_name = " ".join(row[col["nom_voie"]].split())
                name_norm = _street_norm(street_name)[:255]
                if not name_norm:
                    raise ValueError("street name (nom_voie) is empty")
                raw_number = row[col["numero"]].strip()
                if not raw_number.isdigit() or int(raw_number) > 99999:
                    raise ValueError(f"numero '{raw_number}' is not a housenumber")
                rep = row[col["rep"]].strip().lower()
                if len(rep) > 10:
                    raise ValueError(f"rep '{rep}' is too long")
                lat = _coordinate(row, col["lat"], "lat", 90)
                lon = _coordinate(row, col["lon"], "lon", 180)
            except ValueError as exc:
                problems.add(line, str(exc))
                continue
            if problems.count and not keep_good_rows:
                continue  # the import will fail: keep reading only to report every problem
            postcode, insee = row[col["code_postal"]].strip()[:10], row[col["code_insee"]].strip()[:10]
            city_name = " ".join(row[col["nom_commune"]].split())
            batch.append((_SEP.join((name_norm, postcode, insee)), street_name, postcode, insee, city_name,
                          int(raw_number), rep, lat, lon, row[col["id"]].strip()[:64]))
            if len(batch) >= batch_size:
                _write_batch(batch, street_ids, result)
                batch = []
                if progress:
                    progress(read_since_progress)
                    read_since_progress = 0
        if problems.count and not keep_good_rows:
            raise problems.error()
        if batch:
            _write_batch(batch, street_ids, result)
        _update_street_centroids(list(street_ids.values()))
        if progress and read_since_progress:
            progress(read_since_progress)
    result.streets = len(street_ids)
    result.problem_count, result.problems = problems.count, problems.kept
    return result


def _write_batch(batch: list[tuple[Any, ...]], street_ids: dict[str, int], result: AddressImportResult) -> None:
    new: dict[str, tuple[Any, ...]] = {}
    for item in batch:
        if item[0] not in street_ids and item[0] not in new:
            new[item[0]] = item
    if new:
        result.streets_created += _resolve_streets(new, street_ids)
    rows = {}
    for key, _name, _pc, _insee, _city, number, rep, lat, lon, ban_id in batch:
        rows[(street_ids[key], number, rep)] = (street_ids[key], number, rep, lat, lon, ban_id)
    _upsert(Address, _ADDRESS_COLUMNS, ("street_id", "number", "rep"), list(rows.values()))
    result.addresses += len(rows)


_ADDRESS_COLUMNS = ("street_id", "number", "rep", "lat", "lon", "ban_id")
_AREA_COLUMNS = ("country", "postcode", "place_name", "place_norm", "admin_name", "lat", "lon", "accuracy")


def _upsert(model: type[Model], columns: tuple[str, ...], unique: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert or refresh rows with plain SQL: in the hot loops the ORM's bulk_create spends most of its time
    building model instances. ``ON CONFLICT ... DO UPDATE`` reads the same on SQLite (3.24+) and PostgreSQL, the
    two supported databases; rows must be unique on ``unique`` (PostgreSQL refuses to update a row twice).
    """
    q = connection.ops.quote_name
    updates = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns if c not in unique)
    head = f"INSERT INTO {q(model._meta.db_table)} ({', '.join(map(q, columns))}) "
    tail = f" ON CONFLICT ({', '.join(map(q, unique))}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column keeps the statement tiny however many rows it carries.
            types = [model._meta.get_field(c).db_type(connection) for c in columns]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            for start in range(0, len(rows), 5000):
                chunk = rows[start:start + 5000]
                cursor.execute(f"{head}SELECT * FROM unnest({arrays}){tail}", [list(col) for col in zip(*chunk)])
            return
        values = f"({', '.join(['%s'] * len(columns))})"
        per_statement = 999 // len(columns)  # SQLite's historical limit on parameters
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            cursor.execute(f"{head}VALUES {', '.join([values] * len(chunk))}{tail}", [v for row in chunk for v in row])


def _existing_streets(keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = set(keys)
    for start in range(0, len(keys), _CHUNK):
        chunk = [k.split(_SEP) for k in keys[start:start + _CHUNK]]
        rows = Street.objects.filter(name_norm__in={c[0] for c in chunk}, postcode__in={c[1] for c in chunk})
        for sid, name_norm, postcode, insee in rows.values_list("id", "name_norm", "postcode", "insee"):
            key = _SEP.join((name_norm, postcode, insee))
            if key in wanted:
                found[key] = sid
    return found


def _resolve_streets(new: dict[str, tuple[Any, ...]], street_ids: dict[str, int]) -> int:
    """Give an id to each street key of ``new``, creating the missing streets; returns how many were created."""
    existing = _existing_streets(list(new))
    street_ids.update(existing)
    missing = [key for key in new if key not in existing]
    if not missing:
        return 0
    streets = []
    for key in missing:
        _key, name, postcode, insee, city_name, _n, _rep, lat, lon, _id = new[key]
        # The first address stands in for the centroid until the final aggregate replaces it.
        streets.append(Street(name=name[:255], name_norm=key.split(_SEP)[0], postcode=postcode,
                              insee=insee, city_name=city_name[:200], city_norm=_city_norm(city_name)[:200],
                              lat=lat, lon=lon))
    Street.objects.bulk_create(streets, ignore_conflicts=True)
    created = _existing_streets(missing)
    street_ids.update(created)
    tokens = [StreetToken(token=token, street_id=sid)
              for key, sid in created.items() for token in significant_tokens(key.split(_SEP)[0])]
    StreetToken.objects.bulk_create(tokens, ignore_conflicts=True)
    return len(created)


def _update_street_centroids(street_ids: list[int]) -> None:
    """Each street's point becomes the mean of all its addresses, computed by the database."""
    addresses = Address.objects.filter(street=OuterRef("pk")).order_by().values("street")
    for start in range(0, len(street_ids), _CHUNK):
        Street.objects.filter(id__in=street_ids[start:start + _CHUNK]).update(
            lat=Subquery(addresses.annotate(v=Avg("lat")).values("v")),
            lon=Subquery(addresses.annotate(v=Avg("lon")).values("v")),
            address_count=Subquery(addresses.annotate(v=Count("id")).values("v")),
        )


def import_postcodes(path: Source, *, country: str = "FR", progress: Progress | None = None,
                     keep_good_rows: bool = False) -> int:
    """Import GeoNames postcode centroids (``country_code,postal_code,place_name,admin_name,latitude,longitude,
    accuracy``) for one country; returns how many postcode areas were written.

    GeoNames lists a postcode several times (commune, arrondissement, approximate duplicates): one row is kept
    per (country, postcode, place), the most accurate. Business-only codes (CEDEX, SP...) are skipped.
    """
    problems = _Problems()
    best: dict[tuple[str, str, str], tuple[Any, ...]] = {}  # rows in _AREA_COLUMNS order
    country = country.upper()
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=",")
        col = _read_header(reader, POSTCODE_COLUMNS, ",")
        width = max(col[c] for c in POSTCODE_COLUMNS) + 1
        admin_at, accuracy_at = col.get("admin_name"), col.get("accuracy")
        read = 0
        for line, row in _rows(reader):
            read += 1
            if progress and read % 5000 == 0:
                progress(5000)
            if len(row) < width:
                problems.add(line, f"expected at least {width} columns, found {len(row)}")
                continue
            if row[col["country_code"]].strip().upper() != country:
                continue
            postcode = row[col["postal_code"]].strip()
            if _SPECIAL_POSTCODE.search(postcode):
                continue
            try:
                area = _postcode_area(row, col, country, postcode, admin_at, accuracy_at)
            except ValueError as exc:
                problems.add(line, str(exc))
                continue
            key = area[:2] + area[3:4]
            kept = best.get(key)
            if kept is None or (area[-1] or 0) > (kept[-1] or 0):
                best[key] = area
        if progress and read % 5000:
            progress(read % 5000)
    if problems.count and not keep_good_rows:
        raise problems.error()
    with transaction.atomic():
        _upsert(PostcodeArea, _AREA_COLUMNS, ("country", "postcode", "place_norm"), list(best.values()))
    return len(best)


def _postcode_area(row: list[str], col: dict[str, int], country: str, postcode: str,
                   admin_at: int | None, accuracy_at: int | None) -> tuple[Any, ...]:
    if not postcode or len(postcode) > 10:
        raise ValueError(f"postal_code '{postcode}' is not a postcode")
    place_name = " ".join(row[col["place_name"]].split())
    place_norm = _city_norm(place_name)[:200]
    if not place_norm:
        raise ValueError("place_name is empty")
    lat = _coordinate(row, col["latitude"], "latitude", 90)
    lon = _coordinate(row, col["longitude"], "longitude", 180)
    accuracy = None
    raw = row[accuracy_at].strip() if accuracy_at is not None and accuracy_at < len(row) else ""
    if raw:
        try:
            accuracy = int(float(raw))
        except ValueError:
            raise ValueError(f"accuracy '{raw}' is not a number") from None
        if not 0 <= accuracy <= 100:
            raise ValueError(f"accuracy '{raw}' is out of range")
    admin = " ".join(row[admin_at].split()) if admin_at is not None and admin_at < len(row) else ""
    return (country, postcode, place_name[:200], place_norm, admin[:200], lat, lon, accuracy)
