"""Reads on places shared by pages, API and other apps."""
from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q, QuerySet

from entraide.core.errors import NotFound

from . import geo
from .models import Neighbourhood


def locate(lat: float, lon: float) -> Neighbourhood | None:
    """The neighbourhood containing a point, or None when no neighbourhood covers it yet."""
    neighbourhood_id = geo.get_index().locate(lat, lon)
    if neighbourhood_id is None:
        return None
    return Neighbourhood.objects.select_related("city").filter(id=neighbourhood_id).first()


def chosen_nearby_sql(member) -> tuple[str, list]:
    """The SQL of the nearby neighbourhoods the member chose to read, as one `SELECT neighbourhood_id`, and its
    parameters: the one access rule's second half, for callers that read more per neighbourhood in the same query
    (the feed reads its page cache's versions with it). A choice counts only while the two are still adjacent."""
    return chosen_nearby_of("%s", "%s"), [member.pk, member.neighbourhood_id, member.neighbourhood_id]


# What chosen_nearby_of and the feed's scope SQL accept for the member and home: a placeholder, or a column of the
# member row `m` of the enclosing statement (accounts.queries.token_lookup). Never a value written into the SQL.
SQL_REFERENCES = frozenset({"%s", "m.id", "m.neighbourhood_id"})


def chosen_nearby_of(member_id: str, home_id: str) -> str:
    """As chosen_nearby_sql, for the member and home neighbourhood given as SQL expressions (`m.id`, or `%s` for
    each of the three parameters member, home, home): for a member row read in the same statement."""
    if not {member_id, home_id} <= SQL_REFERENCES:
        raise ValueError(f"not an SQL reference: {member_id!r}, {home_id!r}")
    from entraide.accounts.models import Member  # accounts' models import this app's

    reads = Member.reads_nearby.through._meta.db_table
    adjacent = Neighbourhood.nearby.through._meta.db_table
    return (f"SELECT r.neighbourhood_id FROM {reads} r "
            f"JOIN {adjacent} a ON a.to_neighbourhood_id = r.neighbourhood_id WHERE r.member_id = {member_id} "
            f"AND a.from_neighbourhood_id = {home_id} AND r.neighbourhood_id <> {home_id}")


def readable_neighbourhood_ids(member) -> list[int]:
    """Home first, then the nearby neighbourhoods the member chose to read (DESIGN.md, the one access rule).

    Every read of neighbourhood data starts here, so it is one plain SQL query (the ORM's version joins the city to
    sort by a name nobody needs, and compiling it cost more than running it).
    """
    if member is None or member.neighbourhood_id is None:
        return []
    sql, params = chosen_nearby_sql(member)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY r.neighbourhood_id", params)
        chosen = [row[0] for row in cursor.fetchall()]
    return [member.neighbourhood_id, *chosen]


def visible_neighbourhood_ids(member) -> list[int]:
    """Home plus every neighbour of home: whose name and outline a member may look at (to choose what to read)."""
    if member is None or member.neighbourhood_id is None:
        return []
    nearby = Neighbourhood.nearby.through.objects.filter(from_neighbourhood_id=member.neighbourhood_id)
    return [member.neighbourhood_id, *nearby.values_list("to_neighbourhood_id", flat=True)]


def neighbourhoods_with_counts() -> QuerySet[Neighbourhood]:
    return Neighbourhood.objects.select_related("city").annotate(
        member_count=Count("members", filter=Q(members__user__is_active=True), distinct=True)
    )


def neighbourhood_for_member(member, neighbourhood_id: int) -> Neighbourhood:
    """A neighbourhood the member may look at, with its member count; 404 for any other so existence does not leak."""
    neighbourhood = neighbourhoods_with_counts().filter(id=neighbourhood_id, id__in=visible_neighbourhood_ids(member)).first()
    if neighbourhood is None:
        raise NotFound()
    return neighbourhood


def nearby_of(neighbourhood: Neighbourhood) -> list[Neighbourhood]:
    return list(neighbourhood.nearby.select_related("city").order_by("name"))


def outlines_feature_collection(tolerance_deg: float = 0.0001) -> dict:
    import shapely
    from shapely.geometry import mapping, shape

    features = []
    for n in Neighbourhood.objects.select_related("city").only("id", "name", "geometry", "city__name"):
        simplified = shapely.simplify(shape(n.geometry), tolerance_deg, preserve_topology=True)
        features.append({"type": "Feature", "geometry": mapping(simplified),
                         "properties": {"id": n.id, "name": n.name, "city": n.city.name}})
    return {"type": "FeatureCollection", "features": features}
