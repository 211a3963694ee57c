"""Reads on members. Other members only ever get the public view."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from entraide.core.db import unhurried
from entraide.places import geo

from .models import ApiToken, InvitationCode, LetterCode, Member


def _token_statement() -> tuple[str, list, list, list]:
    """The token lookup as one hand-written join, with the ORM's own value converters for each column.

    Every API request authenticates: compiling the ORM's three-table select_related cost more CPU than the rest of a
    feed request together (bench/feed.py), so the statement is built once per connection from the models' fields.
    """
    User = get_user_model()
    qn = connection.ops.quote_name
    user_fields, member_fields = User._meta.concrete_fields, Member._meta.concrete_fields
    columns = ["t.id", "t.last_used_at"] + [f"u.{qn(f.column)}" for f in user_fields] + [
        f"m.{qn(f.column)}" for f in member_fields]
    # The select list ends with a placeholder for what a caller reads in the same statement (token_lookup).
    sql = (f"SELECT {', '.join(columns)}{{extra}} FROM {qn(ApiToken._meta.db_table)} t "
           f"JOIN {qn(User._meta.db_table)} u ON u.{qn(User._meta.pk.column)} = t.user_id "
           f"LEFT JOIN {qn(Member._meta.db_table)} m ON m.user_id = u.{qn(User._meta.pk.column)} "
           f"WHERE t.key_hash = %s AND u.is_active")
    fields = [ApiToken._meta.get_field("id"), ApiToken._meta.get_field("last_used_at"), *user_fields,
              *member_fields]
    converters = []
    for position, field in enumerate(fields):
        col = field.get_col("t")
        chain = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if chain:
            converters.append((position, chain, col))
    return sql, converters, list(user_fields), list(member_fields)


def _statement() -> tuple[str, list, list, list]:
    statement = getattr(connection, "_entraide_token_statement", None)
    if statement is None:
        statement = connection._entraide_token_statement = _token_statement()
    return statement


def user_for_token(token: str):
    """The active user holding this bearer token, with `user.member` already loaded (None if it has no profile)."""
    return token_lookup(token)[0]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_lookup(token: str, extra: tuple[str, list] | None = None) -> tuple[Any, Any]:
    """As user_for_token, and the value of `extra`, an SQL expression with its parameters, in the same statement.

    `extra` may read the token holder's member row as `m` (`m.id`, `m.neighbourhood_id`: NULL without a profile);
    it saves the caller a round trip to the database on requests whose next query depends on the member alone
    (the feed: its scope, feed/api.py). (None, None) when no active user holds the token.
    """
    found = token_row(token_digest(token), extra)
    if found is None:
        return None, None
    values, extra_value = found
    mark_token_used(values)
    return user_from_token_row(values), extra_value


def token_row(digest: str, extra: tuple[str, list] | None = None) -> tuple[list, Any] | None:
    """The row of the active token whose SHA-256 is `digest`: its values (token id, last use, the user's columns,
    the member's), converted as the ORM would, and the value of `extra` (see token_lookup). One query."""
    sql, converters, _user_fields, _member_fields = _statement()
    extra_sql, extra_params = extra if extra is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{extra}", f", ({extra_sql})" if extra_sql else ""), [*extra_params, digest])
        row = cursor.fetchone()
    if row is None:
        return None
    extra_value = row[-1] if extra_sql else None
    values = list(row[:-1] if extra_sql else row)
    for position, chain, col in converters:
        for converter in chain:
            values[position] = converter(values[position], col, connection)
    return values, extra_value


def user_from_token_row(values: list):
    """New user and member instances (`user.member`, or None without a profile) from token_row's values."""
    _sql, _converters, user_fields, member_fields = _statement()
    user_values = values[2:2 + len(user_fields)]
    member_values = values[2 + len(user_fields):2 + len(user_fields) + len(member_fields)]
    user = get_user_model().from_db(connection.alias, [f.attname for f in user_fields], user_values)
    if member_values[0] is not None:  # the member's primary key: NULL when the account has no profile
        member = Member.from_db(connection.alias, [f.attname for f in member_fields], member_values)
        Member.user.field.set_cached_value(member, user)
        Member.user.field.remote_field.set_cached_value(user, member)
    else:
        Member.user.field.remote_field.set_cached_value(user, None)  # `user.member` raises without a query
    return user


def token_row_ids(values: list) -> tuple[int, int | None]:
    """(user id, member id or None) of token_row's values."""
    _sql, _converters, user_fields, _member_fields = _statement()
    return values[2], values[2 + len(user_fields)]


def mark_token_used(values: list) -> None:
    """Record when the token was last used, at most once in 5 minutes (and in `values`, which a cache may keep)."""
    now = timezone.now()
    token_id, last_used_at = values[0], values[1]
    if last_used_at is None or (now - last_used_at).total_seconds() > 300:
        with connection.cursor() as cursor:  # bookkeeping: a crash may lose it, nobody would miss it
            cursor.execute(unhurried(f"UPDATE {ApiToken._meta.db_table} SET last_used_at = %s "
                                     "WHERE id = %s AND EXISTS (SELECT 1 FROM unhurried)"),
                           [connection.ops.adapt_datetimefield_value(now), token_id])
        values[1] = now


def member_of(user) -> Member | None:
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.member
    except Member.DoesNotExist:
        return None


@dataclass(frozen=True)
class PublicMember:
    """What another member may learn: first name and initial, street at most, a blurred point."""

    id: int
    name: str
    street: str
    neighbourhood_id: int
    verified: bool
    lat: float
    lon: float


def public_view(member: Member) -> PublicMember:
    lat, lon = geo.cell_centre(member.blurred_cell)
    return PublicMember(member.id, member.public_name, member.street_name, member.neighbourhood_id,
                        member.is_verified, lat, lon)


def neighbours_for(viewer: Member, *, limit: int = 200) -> list[PublicMember]:
    """Members of the viewer's home neighbourhood, public view only."""
    rows = (Member.objects.filter(neighbourhood_id=viewer.neighbourhood_id, user__is_active=True)
            .exclude(id=viewer.id).order_by("-created_at")[:limit])
    return [public_view(m) for m in rows]


def pending_letter(member: Member) -> LetterCode | None:
    return LetterCode.objects.filter(member=member, used_at__isnull=True).order_by("-id").first()


def invitations_of(member: Member):
    return InvitationCode.objects.filter(issuer=member).order_by("-created_at")[:20]
