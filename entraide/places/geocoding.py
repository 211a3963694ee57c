"""Free text → places, from the offline gazetteer first and, when configured, an online geocoder.

Tolerant the way people type addresses in a sign-up form: accents, case, abbreviations, a missing
postcode, ``bis``/``ter``, small typos. Candidate streets come from the StreetToken index only (never a scan
of the Street table) and are ranked in Python with difflib, in a handful of queries per call.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from functools import lru_cache
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Case, Count, F, IntegerField, Q, Value, When

from .models import Address, Neighbourhood, PostcodeArea, Street, StreetToken
from .textnorm import GRAMMAR_WORDS, STOP_WORDS, ParsedAddress, fold, normalize, normalize_city, parse, rep_variants, \
    significant_tokens

logger = logging.getLogger(__name__)

PRECISIONS = ("housenumber", "street", "postcode", "municipality")
MAX_TEXT = 300  # longer input is not an address; bounding it bounds the work
MAX_STREETS = 60  # candidate streets ranked in Python
STREET_THRESHOLD = 0.8  # name similarity below which a street is not what was meant
MIN_STREET_SCORE = 0.6  # ... and the same once the postcode and commune have been checked
TOKEN_THRESHOLD = 0.75  # per word: "bolivr" ~ "bolivar" (0.92), "martin" !~ "maur" (0.6)
ONLINE_MIN_SCORE = 0.4  # the BAN answers garbage with low-scored guesses
ONLINE_TIMEOUT = 3
_CENTRE_KEY = "entraide:geocoding:centre"
_UK_POSTCODE = re.compile(r"\b[a-z]{1,2}[0-9][a-z0-9]? [0-9][a-z]{2}$")
# Last comma-separated part of an address naming another country (English or native spelling only:
# "avenue d'Italie" is a Paris street, "Italy" never is).
_FOREIGN_COUNTRIES = frozenset({
    "uk", "united kingdom", "great britain", "england", "scotland", "wales", "ireland", "usa", "us",
    "united states", "united states of america", "germany", "deutschland", "spain", "espana", "italy", "italia",
    "belgium", "switzerland", "schweiz", "svizzera", "netherlands", "nederland", "portugal", "canada", "austria",
    "osterreich", "poland", "polska", "morocco", "algeria", "tunisia",
})


@dataclass(frozen=True)
class Candidate:
    label: str  # "67 Avenue Simon Bolivar, 75019 Paris 19e Arrondissement"
    lat: float
    lon: float
    precision: str  # "housenumber" | "street" | "postcode" | "municipality"
    score: float  # 0..1, higher is better
    street: str = ""  # street name (public part), "" for postcode/municipality


def geocode(text: str, *, limit: int = 5) -> list[Candidate]:
    """The places ``text`` most likely means, best first; [] when it is empty, garbage or abroad."""
    text = (text or "")[:MAX_TEXT]
    if limit <= 0 or not text.strip():
        return []
    parsed = parse(text)
    if not (parsed.words or parsed.lead or parsed.postcode) or _looks_foreign(text):
        return []
    candidates = _offline(parsed, limit)
    if getattr(settings, "ENTRAIDE_GEOCODER_URL", "") and not any(c.precision == "housenumber" for c in candidates):
        candidates += _online(text, limit)
    return _best(candidates, limit)


def _looks_foreign(text: str) -> bool:
    last = fold(text.rsplit(",", 1)[-1]) if "," in text else ""
    return last in _FOREIGN_COUNTRIES or bool(_UK_POSTCODE.search(fold(text)))


def _best(candidates: list[Candidate], limit: int) -> list[Candidate]:
    seen: set[tuple[str, ...]] = set()
    result = []
    for c in sorted(candidates, key=lambda c: (-c.score, PRECISIONS.index(c.precision))):
        keys = {(c.precision, normalize(c.label)), (c.precision, f"{c.lat:.4f}", f"{c.lon:.4f}")}
        if keys & seen:
            continue
        seen |= keys
        result.append(c)
        if len(result) == limit:
            break
    return result


# --- offline ------------------------------------------------------------------------------------------------

def _offline(parsed: ParsedAddress, limit: int) -> list[Candidate]:
    words = list(parsed.words or parsed.lead)
    lead = list(parsed.lead if parsed.words else ())
    phrases = _city_phrases(words, lead)
    areas: list[PostcodeArea] = []
    if phrases or parsed.postcode:
        wanted = Q(place_norm__in=phrases)
        if parsed.postcode:
            wanted |= Q(postcode=parsed.postcode)
        # Country is checked in Python: in SQL it makes SQLite scan the (country, ...) unique index instead.
        areas = [a for a in PostcodeArea.objects.filter(wanted) if a.country == "FR"]
    named = [a for a in areas if a.place_norm in phrases]
    streets = _candidate_streets(words, parsed.postcode, {a.postcode for a in named})
    scored = []
    for street in streets:
        similarity, used = _street_similarity(tuple(words), street.name_norm)
        if similarity >= STREET_THRESHOLD:
            score = similarity * _location_factor(street, parsed.postcode, words[used:] + lead, named)
            if score >= MIN_STREET_SCORE:
                scored.append((score, street))
    result: list[Candidate] = []
    whole = normalize_city(" ".join(words + lead))
    if parsed.number is None and not parsed.postcode and any(a.place_norm == whole for a in named):
        # The whole text names a commune ("Montreuil"): that beats any street it happens to resemble.
        result = [replace(c, score=round(c.score + 0.4, 4))
                  for c in _municipality_fallback([a for a in named if a.place_norm == whole])]
    if scored:
        scored.sort(key=lambda item: -item[0])
        return result + _with_housenumbers(scored[:max(limit * 2, 5)], parsed)
    if result:
        return result
    if parsed.postcode:
        found = _postcode_fallback(parsed.postcode, [a for a in areas if a.postcode == parsed.postcode], words + lead)
        if found:
            return found
    return _municipality_fallback(named)


def _city_phrases(words: list[str], lead: list[str]) -> set[str]:
    """Every way the end of the text, or the part written before the housenumber, could name a commune."""
    phrases = {normalize_city(" ".join(words[i:])) for i in range(max(0, len(words) - 5), len(words))}
    phrases |= {normalize_city(" ".join(lead[i:])) for i in range(len(lead))}
    return {p for p in phrases if p and not p.isdigit()}


def _candidate_streets(words: list[str], postcode: str, city_postcodes: set[str]) -> list[Street]:
    wanted = significant_tokens(" ".join(words))
    if not wanted:
        return []
    # One range query per word prefix finds the word itself and its misspellings (after the third letter).
    condition = Q()
    for token in wanted:
        if token.isdigit() or len(token) < 3:
            condition |= Q(token=token)
        else:
            prefix = token[:3]
            condition |= Q(token__gte=prefix, token__lt=prefix[:-1] + chr(ord(prefix[-1]) + 1))
    known = set(StreetToken.objects.filter(condition).values_list("token", flat=True).distinct())
    tokens: set[str] = set()
    for token in wanted:
        if token in known:
            tokens.add(token)
        elif not token.isdigit() and len(token) >= 3:
            close = [(SequenceMatcher(None, token, k).ratio(), k) for k in known if abs(len(k) - len(token)) <= 3]
            tokens.update(k for ratio, k in sorted(close, reverse=True)[:3] if ratio >= TOKEN_THRESHOLD)
    if not tokens:
        return []
    # Streets of the typed postcode, then of the named commune, win ties on the number of matching words.
    area = Value(0, output_field=IntegerField())
    if postcode:
        area = area + Case(When(postcode=postcode, then=Value(2)), default=Value(0), output_field=IntegerField())
    if city_postcodes:
        area = area + Case(When(postcode__in=city_postcodes, then=Value(1)), default=Value(0),
                           output_field=IntegerField())
    return list(Street.objects.filter(tokens__token__in=tokens).annotate(matched=Count("tokens"))
                .annotate(rank=F("matched") + area).order_by("-rank", "id")[:MAX_STREETS])


@lru_cache(maxsize=4096)
def _street_words(name_norm: str) -> tuple[str, tuple[str, ...]]:
    sig = tuple(significant_tokens(name_norm))
    return " ".join(sig), sig


@lru_cache(maxsize=4096)
def _token_matches(word: str, others: tuple[str, ...]) -> bool:
    return word in others or any(SequenceMatcher(None, word, t).ratio() >= TOKEN_THRESHOLD for t in others)


def _street_similarity(words: tuple[str, ...], name_norm: str) -> tuple[float, int]:
    """How well the first words of the query name this street, and how many words that takes.

    The words after the street are the commune, so every prefix is tried; a prefix containing a word the
    street does not have (even misspelt) does not count, so "saint martin" never becomes "saint maur", and
    a prefix naming only part of the street ("rue du general" for "Rue du Général Camou") is discounted.
    """
    street_sig, street_tokens = _street_words(name_norm)
    best, used = 0.0, 0
    for k in range(1, min(len(words), len(name_norm.split()) + 2) + 1):
        prefix = words[:k]
        sig_words = [w for w in prefix if w not in STOP_WORDS and len(w) >= 2]
        if not all(_token_matches(w, street_tokens) for w in sig_words):
            break
        text = " ".join(prefix)
        full = SequenceMatcher(None, text, name_norm).ratio()
        # Without the street type ("12 simon bolivar") the distinctive words alone decide, slightly discounted.
        sig = SequenceMatcher(None, " ".join(sig_words), street_sig).ratio() * 0.95 if sig_words else 0.0
        similarity = max(full, sig)
        if not all(_token_matches(t, prefix) for t in street_tokens):
            similarity *= 0.85
        if similarity > best:
            best, used = similarity, k
    return best, used


def _location_factor(street: Street, postcode: str, city_words: list[str], named: list[PostcodeArea]) -> float:
    """How well the rest of the text (postcode, commune) agrees with where the street is."""
    signals = []
    if postcode:
        signals.append(1.0 if street.postcode == postcode else 0.8)  # a mistyped postcode happens
    wanted = [w for w in normalize_city(" ".join(city_words)).split() if w not in GRAMMAR_WORDS]
    if wanted:
        phrases = _city_phrases(city_words, [])
        communes = {a.postcode for a in named if a.place_norm in phrases}
        have = set(street.city_norm.split())
        if street.postcode in communes or all(w in have for w in wanted):
            signals.append(1.0)
        elif communes:
            signals.append(0.5)  # another known commune was named: not this street
        else:
            # Unknown words: another commune missing from GeoNames, or the end of a street name we cut short.
            signals.append(0.85 if any(w in have for w in wanted) else 0.7)
    # Nothing to tell homonymous streets of different communes apart: slightly less sure.
    return sum(signals) / len(signals) if signals else 0.95


def _with_housenumbers(scored: list[tuple[float, Street]], parsed: ParsedAddress) -> list[Candidate]:
    found: dict[int, dict[str, tuple[float, float]]] = {}
    if parsed.number is not None:
        rows = Address.objects.filter(street_id__in=[s.id for _score, s in scored], number=parsed.number)
        for street_id, rep, lat, lon in rows.values_list("street_id", "rep", "lat", "lon"):
            found.setdefault(street_id, {})[rep] = (lat, lon)
    result = []
    for score, street in scored:
        place = f"{street.postcode} {street.city_name}".strip()
        reps = found.get(street.id, {})
        rep = next((r for r in rep_variants(parsed.rep) if r in reps), None)
        if rep is None and parsed.rep and "" in reps:
            rep, score = "", score * 0.95  # "12 bis" typed, only "12" known: the same building, most likely
        if rep is not None:
            lat, lon = reps[rep]
            label = f"{parsed.number}{_rep_label(rep)} {street.name}, {place}"
            result.append(Candidate(label, lat, lon, "housenumber", round(score, 4), street.name))
        else:
            factor = 0.8 if parsed.number is not None else 0.9
            result.append(Candidate(f"{street.name}, {place}", street.lat, street.lon, "street",
                                    round(score * factor, 4), street.name))
    return result


def _rep_label(rep: str) -> str:
    return rep.upper() if len(rep) == 1 else f" {rep}" if rep else ""


def _postcode_fallback(postcode: str, areas: list[PostcodeArea], words: list[str]) -> list[Candidate]:
    wanted = set(normalize_city(" ".join(words)).split()) - GRAMMAR_WORDS
    if areas:
        def rank(a: PostcodeArea) -> tuple[int, int, int]:
            place = set(a.place_norm.split())
            # A matching commune first; then GeoNames' accuracy; then the more specific name ("Paris 19" over
            # the city-wide "Paris" row GeoNames repeats for every arrondissement).
            return (len(wanted & place), a.accuracy or 0, len(a.place_norm))
        area = max(areas, key=rank)
        score = 0.65 if wanted & set(area.place_norm.split()) else 0.6
        return [Candidate(f"{postcode} {area.place_name}", area.lat, area.lon, "postcode", score)]
    # No GeoNames row (not imported, or a recent postcode): the mean of the gazetteer's streets will do.
    streets = list(Street.objects.filter(postcode=postcode).values_list("city_name", "lat", "lon")[:2000])
    if not streets:
        return []
    lat = sum(s[1] for s in streets) / len(streets)
    lon = sum(s[2] for s in streets) / len(streets)
    city = max({s[0] for s in streets}, key=lambda name: sum(1 for s in streets if s[0] == name))
    return [Candidate(f"{postcode} {city}", lat, lon, "postcode", 0.6)]


def _municipality_fallback(areas: list[PostcodeArea]) -> list[Candidate]:
    if not areas:
        return []
    # The longest matching phrase names the commune ("saint denis" rather than "denis").
    longest = max(len(a.place_norm) for a in areas)
    groups: dict[tuple[float, float], list[PostcodeArea]] = {}
    for area in areas:
        if len(area.place_norm) == longest:
            groups.setdefault((round(area.lat, 2), round(area.lon, 2)), []).append(area)
    ordered = list(groups.values())
    centre = _service_centre() if len(ordered) > 1 else None
    if centre:  # homonymous communes (four Montreuil): the one nearest to where Entraide is used first
        ordered.sort(key=lambda g: (g[0].lat - centre[0]) ** 2 + ((g[0].lon - centre[1]) * 0.66) ** 2)
    result = []
    for rank, group in enumerate(ordered):
        best = max(group, key=lambda a: a.accuracy or 0)
        postcodes = sorted({a.postcode for a in group})
        label = best.place_name if len(postcodes) > 1 else f"{best.place_name} ({postcodes[0]})"
        result.append(Candidate(label, best.lat, best.lon, "municipality", round(0.5 - 0.01 * min(rank, 10), 4)))
    return result


def _service_centre() -> tuple[float, float] | None:
    """Roughly where this instance is used: its neighbourhoods, or else its gazetteer. Cached for an hour."""
    centre = cache.get(_CENTRE_KEY)
    if centre is None:
        point = Neighbourhood.objects.aggregate(lat=Avg("centroid_lat"), lon=Avg("centroid_lon"))
        if point["lat"] is None:
            point = Street.objects.aggregate(lat=Avg("lat"), lon=Avg("lon"))
        centre = (point["lat"], point["lon"]) if point["lat"] is not None else ()
        cache.set(_CENTRE_KEY, centre, 3600)
    return tuple(centre) if centre else None  # type: ignore[return-value]


# --- online ---------------------------------------------------------------------------------------------------

def _online(text: str, limit: int) -> list[Candidate]:
    """Results of the configured online geocoder; [] on any failure (logged without the query: it is private)."""
    base = settings.ENTRAIDE_GEOCODER_URL.rstrip("/")
    kind = getattr(settings, "ENTRAIDE_GEOCODER_KIND", "ban") or "ban"
    if kind == "nominatim":
        url = f"{base}/search?" + urlencode({"format": "jsonv2", "q": text, "limit": limit, "addressdetails": 1})
    else:
        url = f"{base}/search/?" + urlencode({"q": text, "limit": limit})
    request = Request(url, headers={"User-Agent": "entraide-geocoder/1", "Accept": "application/json"})
    try:
        with urlopen(request, timeout=ONLINE_TIMEOUT) as response:  # noqa: S310 (operator-configured URL)
            data = json.loads(response.read(2_000_000))
        candidates = _from_nominatim(data) if kind == "nominatim" else _from_ban(data)
    except Exception as exc:  # a geocoder outage must never break sign-up
        logger.warning("online geocoder at %s failed (%s); offline results only",
                       urlsplit(base).netloc, type(exc).__name__)
        return []
    return [c for c in candidates if c.score >= ONLINE_MIN_SCORE]


_BAN_PRECISION = {
    "housenumber": "housenumber", "street": "street", "locality": "street", "municipality": "municipality",
}


def _from_ban(data: dict) -> list[Candidate]:
    result = []
    for feature in data.get("features", []):
        props = feature.get("properties", {})
        precision = _BAN_PRECISION.get(props.get("type", ""))
        if precision is None:
            continue
        lon, lat = feature["geometry"]["coordinates"][:2]
        street = props.get("street") or (props.get("name", "") if precision == "street" else "")
        score = min(1.0, max(0.0, float(props.get("score", 0))))
        result.append(Candidate(str(props["label"]), float(lat), float(lon), precision, round(score, 4), street))
    return result


_NOMINATIM_BASE = {"housenumber": 0.9, "street": 0.75, "postcode": 0.55, "municipality": 0.45}


def _from_nominatim(data: list) -> list[Candidate]:
    result = []
    for item in data:
        address = item.get("address") or {}
        if address.get("country_code", "fr").lower() != "fr":
            continue
        road = address.get("road", "")
        city = next((address[k] for k in ("city", "town", "village", "municipality") if address.get(k)), "")
        postcode = address.get("postcode", "")
        if address.get("house_number") and road:
            precision, label = "housenumber", f"{address['house_number']} {road}, {postcode} {city}"
        elif road:
            precision, label = "street", f"{road}, {postcode} {city}"
        elif postcode:
            precision, label = "postcode", f"{postcode} {city}"
        else:
            precision, label = "municipality", city or item.get("display_name", "")
        if not address:
            label = item.get("display_name", label)
        importance = min(1.0, max(0.0, float(item.get("importance") or 0)))
        score = _NOMINATIM_BASE[precision] * (0.9 + 0.1 * importance)
        result.append(Candidate(" ".join(label.split()).strip(", "), float(item["lat"]), float(item["lon"]),
                                precision, round(score, 4), road if precision in ("housenumber", "street") else ""))
    return result
