"""The feed clock's triggers: every change to what a feed page shows bumps its neighbourhood's `FeedClock.version`.

Triggers rather than calls in actions.py, because a page shows more than the feed's own writes: counts, pictures
and tags (feed actions), but also an author's display name (accounts), a neighbourhood's name (an import), a
crisis tag (the admin), and deletions that cascade from any of them. In the database, no path can forget the bump,
and the bump commits or rolls back with the change itself.

| table | when | neighbourhoods bumped |
|---|---|---|
| feed_post, feed_posttag, feed_postimage | insert, update, delete | the row's (old and new) |
| accounts_member | display_name changes | those of the member's posts |
| places_neighbourhood | name changes | itself |
| feed_crisis | tag changes | those of the crisis' posts |

A bulk load that turns triggers off (bench/feed_seed.py: PostgreSQL's `session_replication_role = replica`, the
triggers dropped on SQLite) leaves the clock behind; so would a restore of an older backup into a running server.
Restart the server after either: the page cache lives in its processes.

Migration 0006 created them; `migrate` re-creates them after every run (apps.py), since on SQLite a migration that
rebuilds one of these tables would drop its triggers (and fail on the others', which read feed_post): they are
dropped before the migrations and put back after.
"""
from __future__ import annotations

# Tables whose rows carry their neighbourhood; then (table, column, the neighbourhoods to bump when it changes).
_OWN_ROW = ("feed_post", "feed_posttag", "feed_postimage")
_NAMES = (
    ("accounts_member", "display_name", "SELECT neighbourhood_id AS n FROM feed_post WHERE author_id = {row}.id"),
    ("places_neighbourhood", "name", "SELECT {row}.id AS n"),
    ("feed_crisis", "tag", "SELECT neighbourhood_id AS n FROM feed_post WHERE crisis_id = {row}.id"),
)
_CLOCK = "feed_feedclock"


def _sqlite_bump(select: str) -> str:
    # No INSERT OR IGNORE: inside a trigger SQLite applies the firing statement's conflict clause instead, and an
    # INSERT OR REPLACE would then reset a clock (an old version, an old page).
    return (f"INSERT INTO {_CLOCK} (neighbourhood_id, version) SELECT DISTINCT s.n, 0 FROM ({select}) s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {_CLOCK} c WHERE c.neighbourhood_id = s.n);\n"
            f"    UPDATE {_CLOCK} SET version = version + 1 WHERE neighbourhood_id IN ({select});")


def sqlite_create() -> list[str]:
    statements = []
    for table in _OWN_ROW:
        for event, rows in (("INSERT", ("new",)), ("UPDATE", ("old", "new")), ("DELETE", ("old",))):
            select = " UNION ".join(f"SELECT {row}.neighbourhood_id AS n" for row in rows)
            statements.append(f"CREATE TRIGGER {table}_clock_{event.lower()} AFTER {event} ON {table} BEGIN\n"
                              f"    {_sqlite_bump(select)}\nEND")
    for table, column, select in _NAMES:
        statements.append(f"CREATE TRIGGER {table}_clock_{column} AFTER UPDATE OF {column} ON {table} "
                          f"WHEN old.{column} IS NOT new.{column} BEGIN\n"
                          f"    {_sqlite_bump(select.format(row='new'))}\nEND")
    return statements


def sqlite_drop() -> list[str]:
    names = [f"{t}_clock_{e}" for t in _OWN_ROW for e in ("insert", "update", "delete")]
    names += [f"{t}_clock_{c}" for t, c, _s in _NAMES]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


# PostgreSQL: one function bumps a set of neighbourhoods, in id order, one trigger function per kind of table. The
# triggers are deferred to the commit, so a clock row is locked only while its writer commits, not for the rest of a
# transaction that may still resize pictures or index text.
_PG_BUMP = f"""CREATE OR REPLACE FUNCTION entraide_feed_clock_bump(ids bigint[]) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO {_CLOCK} (neighbourhood_id, version)
        SELECT DISTINCT n, 1 FROM unnest(ids) AS n WHERE n IS NOT NULL ORDER BY n
        ON CONFLICT (neighbourhood_id) DO UPDATE SET version = {_CLOCK}.version + 1
    $$"""
_PG_OWN_ROW = """CREATE OR REPLACE FUNCTION entraide_feed_clock_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN PERFORM entraide_feed_clock_bump(ARRAY[NEW.neighbourhood_id]::bigint[]);
        ELSIF TG_OP = 'DELETE' THEN PERFORM entraide_feed_clock_bump(ARRAY[OLD.neighbourhood_id]::bigint[]);
        ELSE PERFORM entraide_feed_clock_bump(ARRAY[OLD.neighbourhood_id, NEW.neighbourhood_id]::bigint[]);
        END IF;
        RETURN NULL;
    END $$"""


_DEFERRED = "DEFERRABLE INITIALLY DEFERRED"


def postgres_create() -> list[str]:
    statements = [_PG_BUMP, _PG_OWN_ROW]
    for table in _OWN_ROW:
        statements.append(f"CREATE CONSTRAINT TRIGGER {table}_clock AFTER INSERT OR UPDATE OR DELETE ON {table} "
                          f"{_DEFERRED} FOR EACH ROW EXECUTE FUNCTION entraide_feed_clock_row()")
    for table, column, select in _NAMES:
        function = f"entraide_feed_clock_{table}"
        statements.append(f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM entraide_feed_clock_bump(ARRAY({select.format(row='NEW')})::bigint[]);
        RETURN NULL;
    END $$""")
        statements.append(f"CREATE CONSTRAINT TRIGGER {table}_clock_{column} AFTER UPDATE OF {column} ON {table} "
                          f"{_DEFERRED} FOR EACH ROW WHEN (OLD.{column} IS DISTINCT FROM NEW.{column}) "
                          f"EXECUTE FUNCTION {function}()")
    return statements


def postgres_drop() -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS {t}_clock ON {t}" for t in _OWN_ROW]
    statements += [f"DROP TRIGGER IF EXISTS {t}_clock_{c} ON {t}" for t, c, _s in _NAMES]
    statements += [f"DROP FUNCTION IF EXISTS entraide_feed_clock_{t}()" for t, _c, _s in _NAMES]
    statements += ["DROP FUNCTION IF EXISTS entraide_feed_clock_row()",
                   "DROP FUNCTION IF EXISTS entraide_feed_clock_bump(bigint[])"]
    return statements


def create_triggers(connection) -> None:
    """(Re)create every trigger: idempotent, so that `migrate` can run it after any migration (apps.py)."""
    drop_triggers(connection)
    statements = sqlite_create() if connection.vendor == "sqlite" else postgres_create()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def drop_triggers(connection) -> None:
    statements = sqlite_drop() if connection.vendor == "sqlite" else postgres_drop()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
