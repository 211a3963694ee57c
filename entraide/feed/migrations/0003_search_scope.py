"""The reader's scope inside the full-text index, so a search costs what the reader may read, not the whole city.

Each search document gets `scope_tokens`: `h<neighbourhood id>` always, plus `a<neighbourhood id>` when its post's
audience is `nearby` (search_models.scope_tokens). A reader's query adds `h<home> OR a<chosen>...`.

SQLite: the shadow stems become scoped (`h12_ecol a12_ecol`: search_models.scoped_shadow) and the FTS5 tokenizer
keeps `_` inside tokens; a query asks for its scope's tokens only. FTS5 then reads a few short doclists instead of
a city-wide one, and bm25's document counts (which read each queried token's whole doclist) stay as short. Stems
never contain `_`, so nobody's text can pose as a scoped token.

PostgreSQL: the generated `search_vector` gains the scope tokens as `simple` lexemes (weight D, so they never rank),
and the GIN index answers `words && scope` by walking the small scope lists and probing the word's. A post could
contain the word "h12"; the SQL scope condition kept beside the full-text query makes that harmless.
"""
from django.db import migrations, models

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS feed_searchdoc_fts_au",
    "DROP TRIGGER IF EXISTS feed_searchdoc_fts_ad",
    "DROP TRIGGER IF EXISTS feed_searchdoc_fts_ai",
    "DROP TABLE IF EXISTS feed_searchdoc_fts",
]
SQLITE_INSERT_TRIGGER = """CREATE TRIGGER feed_searchdoc_fts_ai AFTER INSERT ON feed_searchdoc BEGIN
        INSERT INTO feed_searchdoc_fts(rowid, title_stems, body_stems)
        VALUES (new.id, new.title_stems, new.body_stems);
    END"""
SQLITE_CREATE = [
    """CREATE VIRTUAL TABLE feed_searchdoc_fts USING fts5(
        title_stems, body_stems, content='feed_searchdoc', content_rowid='id',
        tokenize="unicode61 remove_diacritics 2 tokenchars '_'")""",
    SQLITE_INSERT_TRIGGER,
    """CREATE TRIGGER feed_searchdoc_fts_ad AFTER DELETE ON feed_searchdoc BEGIN
        INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts, rowid, title_stems, body_stems)
        VALUES ('delete', old.id, old.title_stems, old.body_stems);
    END""",
    """CREATE TRIGGER feed_searchdoc_fts_au AFTER UPDATE OF title_stems, body_stems ON feed_searchdoc BEGIN
        INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts, rowid, title_stems, body_stems)
        VALUES ('delete', old.id, old.title_stems, old.body_stems);
        INSERT INTO feed_searchdoc_fts(rowid, title_stems, body_stems)
        VALUES (new.id, new.title_stems, new.body_stems);
    END""",
    "INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts) VALUES ('rebuild')",
]
# The same rule as search_models.scope_tokens, in SQL, for rows written before this migration.
FILL = ("UPDATE feed_searchdoc SET scope_tokens = 'h' || neighbourhood_id || "
        "CASE WHEN audience = 'nearby' THEN ' a' || neighbourhood_id ELSE '' END")
POSTGRES_VECTOR = """(
        setweight(to_tsvector('entraide_fr'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('entraide_fr'::regconfig, coalesce(body, '')), 'B')
        || setweight(to_tsvector('entraide_en'::regconfig, coalesce(title, '')), 'C')
        || setweight(to_tsvector('entraide_en'::regconfig, coalesce(body, '')), 'D')
        {scope}
    )"""
POSTGRES_SWAP = [
    "DROP INDEX IF EXISTS feed_searchdoc_vector",
    "ALTER TABLE feed_searchdoc DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE feed_searchdoc ADD COLUMN search_vector tsvector GENERATED ALWAYS AS {vector} STORED",
    "CREATE INDEX feed_searchdoc_vector ON feed_searchdoc USING GIN (search_vector)",
]


def _scoped(shadow: str, tokens: str) -> str:
    return " ".join(f"{p}_{stem}" for p in tokens.split() for stem in shadow.split())


def _unscoped(scoped: str) -> str:
    return " ".join(t.split("_", 1)[1] for t in scoped.split() if t.startswith("h") and "_" in t)


def _execute(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql, params=None)


def before(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        # Adding a column rebuilds the table on SQLite, which would drop the triggers anyway.
        _execute(schema_editor, SQLITE_DROP)


def _rescope(apps, schema_editor, convert) -> None:
    """Rewrite SQLite's shadow columns of every document (the triggers are dropped meanwhile)."""
    doc_model = apps.get_model("feed", "SearchDoc")
    batch = []
    for doc in doc_model.objects.only("id", "scope_tokens", "title_stems", "body_stems").iterator(chunk_size=2000):
        doc.title_stems, doc.body_stems = convert(doc.title_stems, doc), convert(doc.body_stems, doc)
        batch.append(doc)
        if len(batch) == 2000:
            doc_model.objects.bulk_update(batch, ["title_stems", "body_stems"])
            batch = []
    doc_model.objects.bulk_update(batch, ["title_stems", "body_stems"])


def after(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(FILL, params=None)
        # The rules as they are today, frozen here: scoped_shadow and its inverse are pure string functions.
        _rescope(apps, schema_editor, lambda text, doc: _scoped(text, doc.scope_tokens))
        _execute(schema_editor, SQLITE_CREATE)
    elif vendor == "postgresql":
        scope = "|| to_tsvector('simple'::regconfig, coalesce(scope_tokens, ''))"
        _execute(schema_editor, [FILL] + [s.format(vector=POSTGRES_VECTOR.format(scope=scope)) for s in POSTGRES_SWAP])


def before_reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _execute(schema_editor, SQLITE_DROP)
        _rescope(apps, schema_editor, lambda text, doc: _unscoped(text))
    elif schema_editor.connection.vendor == "postgresql":
        _execute(schema_editor, [s.format(vector=POSTGRES_VECTOR.format(scope="")) for s in POSTGRES_SWAP])


def after_reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        previous = __import__("entraide.feed.migrations.0002_search", fromlist=["SQLITE_FORWARD"])
        _execute(schema_editor, previous.SQLITE_FORWARD)


class Migration(migrations.Migration):

    dependencies = [
        ("feed", "0002_search"),
    ]

    operations = [
        migrations.RunPython(before, after_reverse),
        migrations.AddField(
            model_name="searchdoc",
            name="scope_tokens",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.RunPython(after, before_reverse),
    ]
