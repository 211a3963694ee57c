"""Full-text search over posts and comments: the SearchDoc table plus the backend's own full-text index.

SQLite: an FTS5 external-content table over the stemmed, accent-folded shadow columns, kept in sync by triggers
(so a delete cascaded by the ORM leaves no stale entry behind).

PostgreSQL: text search configurations `entraide_fr` (french + unaccent) and `entraide_en` (english + unaccent),
a generated `search_vector` column and a GIN index. The vector holds the French lexemes of the title (weight A)
and body (B) and the English lexemes of the title (C) and body (D): a query word is looked up both ways (OR), and
ts_rank_cd's default weights {D 0.1, C 0.2, B 0.4, A 1.0} rank a French title match first. `to_tsvector(regconfig,
text)` is declared IMMUTABLE, so PostgreSQL accepts it in a generated column even though the configuration uses
`unaccent`; the price is that changing the configuration later requires `UPDATE feed_searchdoc SET title = title`
(or re-creating the column) to recompute the stored vectors.
"""
import django.db.models.deletion
from django.db import migrations, models

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE feed_searchdoc_fts USING fts5(
        title_stems, body_stems, content='feed_searchdoc', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER feed_searchdoc_fts_ai AFTER INSERT ON feed_searchdoc BEGIN
        INSERT INTO feed_searchdoc_fts(rowid, title_stems, body_stems)
        VALUES (new.id, new.title_stems, new.body_stems);
    END""",
    """CREATE TRIGGER feed_searchdoc_fts_ad AFTER DELETE ON feed_searchdoc BEGIN
        INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts, rowid, title_stems, body_stems)
        VALUES ('delete', old.id, old.title_stems, old.body_stems);
    END""",
    # Only when the indexed text changes: re-scoping a post's comments (audience) does not rewrite the index.
    """CREATE TRIGGER feed_searchdoc_fts_au AFTER UPDATE OF title_stems, body_stems ON feed_searchdoc BEGIN
        INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts, rowid, title_stems, body_stems)
        VALUES ('delete', old.id, old.title_stems, old.body_stems);
        INSERT INTO feed_searchdoc_fts(rowid, title_stems, body_stems)
        VALUES (new.id, new.title_stems, new.body_stems);
    END""",
    "INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS feed_searchdoc_fts_au",
    "DROP TRIGGER IF EXISTS feed_searchdoc_fts_ad",
    "DROP TRIGGER IF EXISTS feed_searchdoc_fts_ai",
    "DROP TABLE IF EXISTS feed_searchdoc_fts",
]

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'entraide_fr') THEN
            CREATE TEXT SEARCH CONFIGURATION entraide_fr (COPY = french);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'entraide_en') THEN
            CREATE TEXT SEARCH CONFIGURATION entraide_en (COPY = english);
        END IF;
    END $$""",
    "ALTER TEXT SEARCH CONFIGURATION entraide_fr ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem",
    "ALTER TEXT SEARCH CONFIGURATION entraide_en ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem",
    """ALTER TABLE feed_searchdoc ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('entraide_fr'::regconfig, coalesce(title, '')), 'A')
        || setweight(to_tsvector('entraide_fr'::regconfig, coalesce(body, '')), 'B')
        || setweight(to_tsvector('entraide_en'::regconfig, coalesce(title, '')), 'C')
        || setweight(to_tsvector('entraide_en'::regconfig, coalesce(body, '')), 'D')
    ) STORED""",
    "CREATE INDEX feed_searchdoc_vector ON feed_searchdoc USING GIN (search_vector)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS feed_searchdoc_vector",
    "ALTER TABLE feed_searchdoc DROP COLUMN IF EXISTS search_vector",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS entraide_en",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS entraide_fr",
    # The unaccent extension stays: other code may use it, and dropping it needs more privileges.
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(sql, params=None)
    return run


forward = _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD})
reverse = _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE})


class Migration(migrations.Migration):

    dependencies = [
        ('feed', '0001_initial'),
        ('places', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchDoc',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('post', 'Post'), ('comment', 'Comment')], max_length=10)),
                ('audience', models.CharField(max_length=20)),
                ('created_at', models.DateTimeField()),
                ('title', models.CharField(blank=True, max_length=140)),
                ('body', models.TextField(blank=True)),
                ('title_stems', models.TextField(blank=True, default='')),
                ('body_stems', models.TextField(blank=True, default='')),
                ('comment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='feed.comment')),
                ('neighbourhood', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='places.neighbourhood')),
                ('post', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='feed.post')),
            ],
            options={
                'indexes': [models.Index(fields=['neighbourhood', '-created_at'], name='searchdoc_scope')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('comment__isnull', True)), fields=('post',), name='searchdoc_post_once'), models.UniqueConstraint(condition=models.Q(('comment__isnull', False)), fields=('comment',), name='searchdoc_comment_once')],
            },
        ),
        migrations.RunPython(forward, reverse),
    ]
