"""The search index: one row per post and per comment, kept in step by `entraide.feed.search`.

Each row carries `neighbourhood_id` and the post's `audience` itself, so a search filters by the reader's scope
inside the full-text query (DESIGN.md: every neighbourhood-scoped table carries `neighbourhood_id`).

What the database indexes depends on the backend (migrations 0002_search and 0003_search_scope):

* SQLite: an FTS5 external-content table ``feed_searchdoc_fts(title_stems, body_stems)`` whose rowid is
  ``feed_searchdoc.id``, kept in sync by triggers on this table (migration 0003_search_scope). `title_stems` /
  `body_stems` hold the shadow text: every word accent-folded, lower-cased and stemmed in French and in English
  (both stems, once each), each stem written once per scope token of the document (``h12_ecol a12_ecol``,
  scoped_shadow). A query asks for ``h<home>_ecol OR a<chosen>_ecol ...``: the engine reads only the reader's
  documents, and bm25 weighs words by how common they are where the reader lives, not in the whole city.
  SQLite's table rebuilds (Django's ``_remake_table``, used by most ALTERs on SQLite) DROP the table and so
  its triggers: a later migration that alters this model on SQLite must re-run the trigger SQL of 0003 and
  ``INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts) VALUES('rebuild')``.
* Both: `scope_tokens` names who may read the document (``h<id>`` for every document of neighbourhood <id>,
  ``a<id>`` too when its audience is `nearby`). The SQL scope condition stays beside the full-text query, as the
  rule itself.
* PostgreSQL: a generated ``search_vector tsvector`` column (not a Django field) with a GIN index, built from
  `title` and `body` with the ``entraide_fr`` and ``entraide_en`` text search configurations (unaccent, then
  the Snowball stemmer), plus the scope tokens as `simple` lexemes, for ranking; and a generated
  ``scoped_vector`` (migration 0005_search_scoped_lexemes) with the same lexemes once per scope token
  (``h12_ecol``), GIN-indexed, for matching, beside a BRIN index on id (the newest documents first). The shadow
  columns stay empty there.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from entraide.places.models import Neighbourhood


class SearchDoc(models.Model):
    class Kind(models.TextChoices):
        POST = "post"
        COMMENT = "comment"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    post = models.ForeignKey("feed.Post", on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey("feed.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=20)  # copied from the post (a comment's doc too)
    created_at = models.DateTimeField()  # of the post or the comment, for "then newer first"
    title = models.CharField(max_length=140, blank=True)  # a post's title; empty for comments
    body = models.TextField(blank=True)  # plain text, markup stripped: what snippets are cut from
    # SQLite only: the stemmed, accent-folded shadow text indexed by FTS5, scoped (see scoped_shadow).
    title_stems = models.TextField(blank=True, default="")
    body_stems = models.TextField(blank=True, default="")
    # Who may read it, as words of the full-text index (migration 0003_search_scope): see scope_tokens().
    scope_tokens = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["neighbourhood", "-created_at"], name="searchdoc_scope")]
        constraints = [
            models.UniqueConstraint(fields=["post"], condition=Q(comment__isnull=True), name="searchdoc_post_once"),
            models.UniqueConstraint(fields=["comment"], condition=Q(comment__isnull=False),
                                    name="searchdoc_comment_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.comment_id or self.post_id}"


def scope_tokens(neighbourhood_id: int, audience: str) -> str:
    """`h<id>`: readable by the neighbourhood's members; `a<id>`: by readers of that neighbourhood as a nearby one."""
    return f"h{neighbourhood_id} a{neighbourhood_id}" if audience == "nearby" else f"h{neighbourhood_id}"


def scoped_shadow(shadow: str, tokens: str) -> str:
    """SQLite's indexed text: every stem of `shadow` once per scope token, as `<token>_<stem>` (h12_ecol a12_ecol).

    A stem is letters and digits only (search.fold), so the underscore, a token character of the FTS5 tokenizer,
    cannot come from anyone's text.
    """
    prefixes = tokens.split()
    return " ".join(f"{p}_{stem}" for p in prefixes for stem in shadow.split())


def reader_scope_tokens(home_id: int, nearby_ids: list[int]) -> list[str]:
    """The tokens a reader's documents carry, one of which each readable document has (the rule of _scope_q)."""
    return [f"h{home_id}", *(f"a{n}" for n in nearby_ids)]
