"""PostgreSQL: scoped lexemes, as SQLite's scoped stems, and a BRIN index to read the newest matches first.

With the scope as separate lexemes (0003), GIN answered `words && scope` by decoding the posting lists of the word
over the whole city and of every scope lexeme ("ecole": 631,155 documents; "h67": 295,782) to keep 28,844 of them:
about 100 ms of CPU per search for a frequent word, warm. `scoped_vector` holds every lexeme once per scope token
of its document (`h67_ecol a67_ecol`, entraide_scoped below): the posting list of `h67_ecol` is exactly the
reader's matches. Lexemes without positions or weights: ranking still reads `search_vector`.

The heap is still read for every match (ORDER BY id needs the rows): `feed_searchdoc_id_brin` lets a search ask
for the newest documents first (`id > n`, search.RECENT_DOCS) and read only those pages. Rows are written in id
order, so each BRIN range is a narrow id interval; one that an update widened is read, never missed.

SQLite: nothing (its scoped stems already do this).
"""
from django.db import migrations

# Lexemes longer than a query word can be (search.MAX_WORD_CHARS) are left out: they could never match, and a long
# word (a pasted link) prefixed by a scope token can pass tsvector's 2,047-byte limit, which array_to_tsvector
# refuses: the post or comment could not be written at all.
SCOPED_FUNCTION = """CREATE OR REPLACE FUNCTION entraide_scoped(words tsvector, scopes text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT coalesce(array_to_tsvector(array_agg(s || '_' || l)), ''::tsvector)
        FROM unnest(string_to_array(scopes, ' ')) AS s, unnest(tsvector_to_array(words)) AS l
        WHERE length(l) <= 64
    $$"""
SCOPED_COLUMN = """ALTER TABLE feed_searchdoc ADD COLUMN scoped_vector tsvector GENERATED ALWAYS AS (entraide_scoped(
        to_tsvector('entraide_fr'::regconfig, coalesce(title, '') || ' ' || coalesce(body, ''))
        || to_tsvector('entraide_en'::regconfig, coalesce(title, '') || ' ' || coalesce(body, '')),
        coalesce(scope_tokens, ''))) STORED"""
FORWARD = [
    SCOPED_FUNCTION,
    SCOPED_COLUMN,
    "CREATE INDEX feed_searchdoc_scoped ON feed_searchdoc USING GIN (scoped_vector)",
    "CREATE INDEX feed_searchdoc_id_brin ON feed_searchdoc USING BRIN (id) WITH (autosummarize = on)",
    # The unscoped index answered searches only; the column stays, for ts_rank_cd.
    "DROP INDEX IF EXISTS feed_searchdoc_vector",
]
BACKWARD = [
    "CREATE INDEX IF NOT EXISTS feed_searchdoc_vector ON feed_searchdoc USING GIN (search_vector)",
    "DROP INDEX IF EXISTS feed_searchdoc_id_brin",
    "DROP INDEX IF EXISTS feed_searchdoc_scoped",
    "ALTER TABLE feed_searchdoc DROP COLUMN IF EXISTS scoped_vector",
    "DROP FUNCTION IF EXISTS entraide_scoped(tsvector, text)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("feed", "0004_feed_covering_indexes"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
