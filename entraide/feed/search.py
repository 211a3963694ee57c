"""Full-text search over the posts and comments a member may read, and trending searches (issue 3, items 7-8).

How words are matched, on both backends, so that "école", "Ecoles" and "ecole" are the same word:

* Folding: NFC, case folding, ligatures (œ → oe), accents dropped. Folding comes *before* stemming, so a word typed
  without its accents always stems like the accented one.
* Stemming: every folded word gives its French and its English Snowball stem ("shopping" → fr "shopping",
  en "shop"); a query word matches a document word when any of their stems agree (French OR English).
* Stop words (French and English, folded) and one-letter words are ignored in queries.

SQLite: `SearchDoc.title_stems` / `body_stems` hold that shadow text (computed here with PyStemmer), each stem
prefixed by each scope token of the document (`h12_ecol a12_ecol`, search_models.scoped_shadow), and the FTS5 table
`feed_searchdoc_fts` indexes it; a query is `("h12_fr1" OR "h12_en1" OR "a13_fr1" ...) AND (... word 2 ...)`, every
token quoted, so no FTS5 syntax from the user ever reaches the parser. Ranked by bm25 with the title weighing 10 times
the body. bm25 counts how many documents hold each queried token: scoped tokens keep that count to the reader's
neighbourhoods (a city-wide "école" made every search read 631,155 entries, bench/feed.py).

PostgreSQL: the generated `search_vector` (migration 0002_search) holds the lexemes of `entraide_fr` (unaccent +
french_stem; title A, body B) and `entraide_en` (unaccent + english_stem; title C, body D), for ranking by
ts_rank_cd: a query word is `plainto_tsquery('entraide_fr', w) || plainto_tsquery('entraide_en', w)`, words
AND-ed (`&&`). Matching uses `scoped_vector` (migration 0005_search_scoped_lexemes): the same lexemes once per scope
token (`h12_ecol`), asked for as a tsquery built from PostgreSQL's own lexemes of each word (_pg_lexemes). The
user's text only ever reaches PostgreSQL as bound parameters; the scoped tsquery holds only its lexemes, quoted.

Both: the reader's scope is part of the full-text query (scope tokens, migration 0003_search_scope), and the rule
itself is checked too (in the SQL on PostgreSQL, on the page's documents on SQLite). Relevance is computed among the
newest RANK_WINDOW matches, newer first on equal relevance. Snippets are cut in Python from the plain text and every
match wrapped in <mark>, everything else escaped.
"""
from __future__ import annotations

import base64
import bisect
import binascii
import functools
import heapq
import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape as _html_escape
from html.parser import HTMLParser

import Stemmer
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from entraide.accounts.models import Member, public_name_of
from entraide.core.db import unhurried
from entraide.core.errors import EntraideError
from entraide.places.models import Neighbourhood
from entraide.places.queries import readable_neighbourhood_ids

from .models import Audience, Comment, Post, SearchLog
from .page_sql import aware_datetime
from .search_models import SearchDoc, reader_scope_tokens, scope_tokens, scoped_shadow

MAX_QUERY_CHARS = 1000  # longer input is truncated, never refused
MAX_QUERY_WORDS = 12  # words beyond that are ignored: bounds the cost of one query
MAX_WORD_CHARS = 64
MAX_LIMIT = 50
MAX_OFFSET = 500  # no page links beyond the 500th result: nobody reads that far, deep offsets cost
# Relevance is computed among the newest RANK_WINDOW matches in the reader's scope: every page a reader can reach
# (MAX_OFFSET + MAX_LIMIT) fits in it, and the work of one search stays bounded however common a word is where
# they live (a frequent word matched 18,654 documents for one Paris reader in bench/feed.py: 165 ms to rank them
# all on SQLite, against 2 ms for the window). Older matches beyond the window are not shown.
RANK_WINDOW = MAX_OFFSET + MAX_LIMIT + 1
# PostgreSQL: a search looks among the newest RECENT_DOCS documents of the instance first (_ranked_ids_postgres).
# 400,000 is three days of the benchmark city at lockdown intensity (bench/feed.py); on a smaller instance there
# are fewer documents than that and a search reads everything at once.
RECENT_DOCS = 400_000
SNIPPET_WORDS = 30
SNIPPET_MAX_CHARS = 280
TITLE_WEIGHT, BODY_WEIGHT = 10.0, 1.0  # bm25 column weights (SQLite)
# Trending: a term shows only once searched this many times (one-hour dedup per member and term, below), so that
# one person's unusual search (a name, an illness) is not displayed to the whole city.
TRENDING_MIN_COUNT = 3
TRENDING_SCAN = 300  # distinct stored terms looked at before merging spellings
LOG_DEDUP_SECONDS = 3600

_WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "ß": "ss"})

# Snowball's French and English stop lists (the short, uncontroversial part), folded. Dropping a word that is a
# stop word in *either* language keeps "les écoles" from requiring "les" through its English stem.
STOP_WORDS = frozenset("""
au aux avec ce ces dans de des du elle en et eux il ils je la le les leur lui ma mais me meme mes moi mon ne nos
notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous ete etre
suis es est sommes etes sont ai as avons avez ont cette cet ca ci
the of and to in is it that for on with as was at by an be this are or from but not have has had were will
would its they them their there then than these those what which who whom into about i me my we our you your he
him his she her do does did so if no yes
""".split())

_OPEN, _CLOSE = "\x00", "\x01"  # where <mark> and </mark> go in a snippet, before escaping (see highlight)

_local = threading.local()  # PyStemmer objects are not thread-safe


def escape(text: str) -> str:
    return _html_escape(text, quote=True)


def _stemmers() -> tuple[Stemmer.Stemmer, Stemmer.Stemmer]:
    pair = getattr(_local, "stemmers", None)
    if pair is None:
        pair = _local.stemmers = (Stemmer.Stemmer("french"), Stemmer.Stemmer("english"))
    return pair


# --- words ---------------------------------------------------------------------------------------------------

def fold(text: str) -> list[str]:
    """Case-folded, accent-free words of `text` (letters and digits of any script)."""
    text = unicodedata.normalize("NFKD", str(text).casefold().translate(_LIGATURES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return [w[:MAX_WORD_CHARS] for w in _WORD.findall(text)]


def _searchable(word: str) -> bool:
    return (len(word) > 1 or word.isdigit()) and word not in STOP_WORDS


def word_stems(folded: str) -> tuple[str, ...]:
    """The French and English stems of one folded word (one entry when they agree)."""
    fr, en = _stemmers()
    a, b = fr.stemWord(folded), en.stemWord(folded)
    return (a,) if a == b else (a, b)


def shadow_text(text: str) -> str:
    """The SQLite shadow of `text`: the stems of every searchable word, in order, space-separated."""
    out: list[str] = []
    for word in fold(text):
        if _searchable(word):
            out.extend(word_stems(word))
    return " ".join(out)


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[str, ...]  # folded, searchable, distinct, at most MAX_QUERY_WORDS
    alternatives: tuple[tuple[str, ...], ...]  # per word, its stems

    @property
    def stems(self) -> frozenset[str]:
        return frozenset(s for alts in self.alternatives for s in alts)

    def fts5(self, scope: list[str]) -> str:
        """Every word (any of its stems) under any of the reader's scope tokens: ("h12_ecol" OR "a13_ecol") AND ...

        Stems are letters and digits only (see fold) and scope tokens are ours, so double quotes cannot occur
        inside; quoting each makes it a plain phrase for FTS5 whatever it spells (AND, NEAR, NOT...).
        """
        return " AND ".join("(" + " OR ".join(f'"{t}_{s}"' for s in alts for t in scope) + ")"
                            for alts in self.alternatives)


def parse_query(q: str | None) -> ParsedQuery:
    """Never raises: any text gives a (possibly empty) query."""
    text = unicodedata.normalize("NFC", str(q or "")[:MAX_QUERY_CHARS])
    words = list(dict.fromkeys(w for w in fold(text) if _searchable(w)))[:MAX_QUERY_WORDS]
    return ParsedQuery(words=tuple(words), alternatives=tuple(word_stems(w) for w in words))


def normalise_term(q: str | None) -> str:
    """What a search log stores: lower case, accents kept, punctuation dropped, at most 100 characters."""
    text = unicodedata.normalize("NFC", str(q or "")[:MAX_QUERY_CHARS]).casefold()
    term = ""
    for word in _WORD.findall(text):
        candidate = f"{term} {word}" if term else word
        if len(candidate) > 100:
            break
        term = candidate
    return term


# --- plain text ----------------------------------------------------------------------------------------------

class _TextExtractor(HTMLParser):
    BLOCKS = frozenset({"p", "br", "li", "ul", "ol", "div", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
                        "tr", "td", "th", "hr", "section", "article"})
    SKIP = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of sanitised HTML: tags dropped (a space at block boundaries), entities decoded."""
    parser = _TextExtractor()
    parser.feed(html or "")
    parser.close()
    return unicodedata.normalize("NFC", " ".join("".join(parser.parts).split()))


def _plain(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(str(text or "").split()))


# --- indexing (called by feed.actions inside their transaction) ----------------------------------------------

def _doc_values(title: str, body: str, scope: str) -> dict:
    stems = connection.vendor == "sqlite"  # PostgreSQL computes its own vector from title and body
    return {"title": title, "body": body, "scope_tokens": scope,
            "title_stems": scoped_shadow(shadow_text(title), scope) if stems else "",
            "body_stems": scoped_shadow(shadow_text(body), scope) if stems else ""}


def index_post(post) -> SearchDoc:
    """Create or refresh the post's document (and carry its audience over to its comments' documents)."""
    scope = scope_tokens(post.neighbourhood_id, post.audience)
    values = _doc_values(_plain(post.title)[:140],
                         html_to_text(post.body_html) if post.body_html else _plain(post.body), scope)
    values.update(kind=SearchDoc.Kind.POST, neighbourhood_id=post.neighbourhood_id, audience=post.audience,
                  created_at=post.created_at)
    doc, _created = SearchDoc.objects.update_or_create(post_id=post.pk, comment__isnull=True, defaults=values)
    # An audience change re-scopes the comments' documents too (rare: one write per comment).
    for comment_doc in SearchDoc.objects.filter(post_id=post.pk, kind=SearchDoc.Kind.COMMENT).exclude(
            audience=post.audience):
        for name, value in _doc_values("", comment_doc.body, scope).items():
            setattr(comment_doc, name, value)
        comment_doc.audience = post.audience
        comment_doc.save(update_fields=["audience", "scope_tokens", "title_stems", "body_stems"])
    return doc


def index_comment(comment) -> SearchDoc:
    """Create or refresh the comment's document; it carries the post's audience, so the feed's scope applies."""
    values = _doc_values("", html_to_text(comment.body_html) if comment.body_html else _plain(comment.body),
                         scope_tokens(comment.neighbourhood_id, comment.post.audience))
    values.update(kind=SearchDoc.Kind.COMMENT, post_id=comment.post_id, neighbourhood_id=comment.neighbourhood_id,
                  audience=comment.post.audience, created_at=comment.created_at)
    doc, _created = SearchDoc.objects.update_or_create(comment_id=comment.pk, defaults=values)
    return doc


def unindex_post(post_id: int) -> None:
    """Remove the post's document and its comments' ones."""
    SearchDoc.objects.filter(post_id=post_id).delete()


def unindex_comment(comment_id: int) -> None:
    # Replies deleted with their parent go through the ORM's cascade (SearchDoc.comment is a CASCADE foreign key).
    SearchDoc.objects.filter(comment_id=comment_id).delete()


def rebuild_index() -> int:
    """Re-index every post and comment (after a restore, a backend change or a tokenizer change).

    In order of creation, posts and comments interleaved: document ids must follow creation, since a search ranks
    the newest matches by id (see RANK_WINDOW).
    """
    SearchDoc.objects.all().delete()
    posts = Post.objects.order_by("created_at", "id").iterator(chunk_size=500)
    comments = Comment.objects.select_related("post").order_by("created_at", "id").iterator(chunk_size=500)
    count = 0
    for item in heapq.merge(posts, comments, key=lambda obj: obj.created_at):
        if isinstance(item, Post):
            index_post(item)
        else:
            index_comment(item)
        count += 1
    return count


# --- search --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchHit:
    kind: str  # "post" or "comment"
    post_id: int
    comment_id: int | None
    title: str  # the post's title (a comment hit shows the title of its post)
    snippet_html: SafeString  # <mark>…</mark> around matches, everything else escaped
    author_name: str
    neighbourhood_name: str
    created_at: datetime
    rank: float  # higher is more relevant; comparable within one result list only


@dataclass(frozen=True)
class SearchPage:
    items: list[SearchHit]
    next_cursor: str | None


# Relevance order has no monotonic key to resume after, so the cursor is an offset (opaque, base64 JSON): a document
# indexed between two page loads may shift the later pages by one. Acceptable for search, unlike for the feed.
def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        offset = json.loads(raw)["o"]
        if isinstance(offset, int) and not isinstance(offset, bool) and 0 <= offset <= MAX_OFFSET:
            return offset
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        pass
    raise EntraideError("invalid_cursor", _("This page link is not valid any more."), status=400,
                        fields={"cursor": [_("Invalid cursor.")]})


def _scope_sql(home_id: int, nearby_ids: list[int]) -> tuple[str, list]:
    # `+ 0`: the full-text index has already narrowed the rows to the scope; without it PostgreSQL also ORs
    # together the neighbourhood index ranges of the whole scope (hundreds of thousands of rows) to AND them in.
    column = "(d.neighbourhood_id + 0)"
    if not nearby_ids:
        return f"{column} = %s", [home_id]
    marks = ", ".join(["%s"] * len(nearby_ids))
    return (f"({column} = %s OR ({column} IN ({marks}) AND d.audience = %s))",
            [home_id, *nearby_ids, Audience.NEARBY.value])


def _ranked_ids(parsed: ParsedQuery, home_id: int, nearby_ids: list[int], limit: int, offset: int
                ) -> list[tuple[int, float]]:
    """(document id, score) of one page: the newest RANK_WINDOW matches, most relevant first, then newest.

    Ids follow creation (documents are indexed as their post or comment is written, and rebuild_index keeps that
    order), so "newest" is "highest id", which both engines can read without touching every match.
    """
    tokens = reader_scope_tokens(home_id, nearby_ids)
    if connection.vendor == "postgresql":
        return _ranked_ids_postgres(parsed, tokens, home_id, nearby_ids, limit, offset)
    if connection.vendor == "sqlite":
        # Scoped stems: the engine walks the reader's documents only, and bm25's counts are the reader's too.
        # FTS5 reads its doclists newest first and stops after the window; bm25 is computed for the window only.
        # The scope rule itself is applied to the page's documents in search() (no join here: one random read
        # of the documents table per match was most of the cost).
        sql = (f"SELECT id, score FROM (SELECT rowid AS id, bm25(feed_searchdoc_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) "
               f"AS score FROM feed_searchdoc_fts WHERE feed_searchdoc_fts MATCH %s ORDER BY rowid DESC LIMIT %s) "
               f"ORDER BY score, id DESC LIMIT %s OFFSET %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [parsed.fts5(tokens), RANK_WINDOW, limit, offset])
            # bm25 is "lower is better"; expose "higher is better" like ts_rank_cd.
            return [(row[0], -float(row[1])) for row in cursor.fetchall()]
    raise NotImplementedError(f"search is not implemented on {connection.vendor}")


@functools.lru_cache(maxsize=4096)
def _pg_lexemes(words: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """PostgreSQL's French and English lexemes of each query word (none for its stop words), as it indexes them.

    Memoised per process: the text search configurations only change with a migration, and searches repeat.
    """
    columns = ", ".join(["tsvector_to_array(to_tsvector('entraide_fr', %s) || to_tsvector('entraide_en', %s))"]
                        * len(words))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", [w for word in words for w in (word, word)])
        return tuple(tuple(lexemes) for lexemes in cursor.fetchone())


def _tsquery_literal(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _scoped_tsquery(lexemes: tuple[tuple[str, ...], ...], tokens: list[str]) -> str:
    """`(h12_ecol | a13_ecol ...) & (...)`: every word (any of its lexemes) under any of the reader's scope tokens
    (migration 0005_search_scoped_lexemes). Written as tsquery input, cast, never parsed as text: words are letters
    and digits, scope tokens ours, and each is quoted anyway."""
    return " & ".join("(" + " | ".join(_tsquery_literal(f"{t}_{lexeme}") for lexeme in word for t in tokens) + ")"
                      for word in lexemes if word)


def _ranked_ids_postgres(parsed: ParsedQuery, tokens: list[str], home_id: int, nearby_ids: list[int], limit: int,
                         offset: int) -> list[tuple[int, float]]:
    """As _ranked_ids, on PostgreSQL: among the newest RECENT_DOCS documents first, then all if the window is short.

    The scoped lexemes make the GIN scan read the reader's matches only; the BRIN index on id (migration 0005)
    keeps the heap reads to the newest pages, which is what bounds a frequent word in a large scope. A word found
    fewer than RANK_WINDOW times among them costs a second query over everything: most searches of the benchmark
    city, whose scopes are mostly small (docs/benchmarks.md, fourth pass).
    """
    scoped = _scoped_tsquery(_pg_lexemes(parsed.words), tokens)
    if not scoped:  # only PostgreSQL stop words
        return []
    # The scope twice: as scoped lexemes (what makes the GIN scan narrow) and as the SQL rule itself.
    scope, scope_params = _scope_sql(home_id, nearby_ids)
    words = " && ".join(
        "(plainto_tsquery('entraide_fr', %s) || plainto_tsquery('entraide_en', %s))" for _w in parsed.words)
    word_params = [w for word in parsed.words for w in (word, word)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM feed_searchdoc")
        newest = cursor.fetchone()[0] or 0
        for since in ([newest - RECENT_DOCS, None] if newest > RECENT_DOCS else [None]):
            recent = "AND d.id > %s" if since is not None else ""
            # `d.id + 0`: ordered by the primary key, PostgreSQL may walk it backwards from the newest row testing
            # each, which for a word rare in the reader's scope means the whole table (seen: over 30 s).
            sql = (f"SELECT w.id, ts_rank_cd(w.search_vector, w.words) AS score, count(*) OVER () FROM ("
                   f"SELECT d.id, d.search_vector, q.words FROM feed_searchdoc d, (SELECT {words} AS words) q "
                   f"WHERE d.scoped_vector @@ %s::tsquery AND {scope} {recent} ORDER BY d.id + 0 DESC LIMIT %s) w "
                   f"ORDER BY score DESC, w.id DESC LIMIT %s OFFSET %s")
            params = [*word_params, scoped, *scope_params, *([since] if since is not None else []),
                      RANK_WINDOW, limit, offset]
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if since is None or (rows and rows[0][2] >= RANK_WINDOW):
                break
    return [(row[0], float(row[1])) for row in rows]


def _readable(doc: dict, home_id: int, nearby_ids: list[int]) -> bool:
    """The one access rule (queries._scope_q), on a fetched document."""
    return doc["neighbourhood_id"] == home_id or (
        doc["neighbourhood_id"] in nearby_ids and doc["audience"] == Audience.NEARBY.value)


_DOC_KEYS = ("id", "kind", "post_id", "comment_id", "title", "body", "created_at", "post__title",
             "post__author__display_name", "comment__author__display_name", "neighbourhood__name", "neighbourhood_id",
             "audience")


def _documents(ids: list[int]) -> dict[int, dict]:
    """The page's documents with what a hit shows, by id (keys _DOC_KEYS): one query.

    By hand, for the same reason as feed/page_sql.py (compiling the ORM's four joins cost more than running them),
    and in plain columns: a whole neighbourhood row would bring kilobytes of geometry along to show a name.
    """
    if not ids:
        return {}
    post, comment = Post._meta.db_table, Comment._meta.db_table
    member, neighbourhood = Member._meta.db_table, Neighbourhood._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    sql = (f"SELECT d.id, d.kind, d.post_id, d.comment_id, d.title, d.body, d.created_at, p.title, pa.display_name, "
           f"ca.display_name, n.name, d.neighbourhood_id, d.audience FROM {SearchDoc._meta.db_table} d "
           f"JOIN {post} p ON p.id = d.post_id JOIN {member} pa ON pa.id = p.author_id "
           f"LEFT JOIN {comment} c ON c.id = d.comment_id LEFT JOIN {member} ca ON ca.id = c.author_id "
           f"JOIN {neighbourhood} n ON n.id = d.neighbourhood_id WHERE d.id IN ({marks})")
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    docs = {}
    for row in rows:
        doc = dict(zip(_DOC_KEYS, row))
        doc["created_at"] = aware_datetime(doc["created_at"])
        docs[doc["id"]] = doc
    return docs


def search(member, q: str | None, *, cursor: str | None = None, limit: int = 20) -> SearchPage:
    """Posts and comments the member may read that match `q`: most relevant first, then newest."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = _decode_cursor(cursor)
    parsed = parse_query(q)
    readable = readable_neighbourhood_ids(member)
    if not parsed.words or not readable:
        return SearchPage(items=[], next_cursor=None)
    if cursor is None:  # the first page only: turning pages is not searching again
        log_search(member, q)
    rows = _ranked_ids(parsed, readable[0], list(readable[1:]), limit + 1, offset)
    more = len(rows) > limit
    rows = rows[:limit]
    docs = _documents([doc_id for doc_id, _score in rows])
    home_id, nearby_ids = readable[0], list(readable[1:])
    stems = parsed.stems
    items = []
    for doc_id, score in rows:
        doc = docs.get(doc_id)
        if doc is None or not _readable(doc, home_id, nearby_ids):  # deleted since the ranking query
            continue
        author = doc["comment__author__display_name"] if doc["comment_id"] else doc["post__author__display_name"]
        items.append(SearchHit(
            kind=doc["kind"], post_id=doc["post_id"], comment_id=doc["comment_id"], title=doc["post__title"],
            snippet_html=highlight(doc["body"] or doc["title"], stems), author_name=public_name_of(author),
            neighbourhood_name=doc["neighbourhood__name"], created_at=doc["created_at"], rank=score,
        ))
    next_offset = offset + limit
    return SearchPage(items=items, next_cursor=_encode_cursor(next_offset) if more and next_offset <= MAX_OFFSET
                      else None)


@functools.lru_cache(maxsize=50_000)
def _token_stems(token: str) -> frozenset[str]:
    """The stems a word of the plain text is indexed under (cached: snippets look at every word of each hit)."""
    return frozenset(s for f in fold(token) if _searchable(f) for s in word_stems(f))


def highlight(text: str, stems: frozenset[str], *, words: int = SNIPPET_WORDS, max_chars: int = SNIPPET_MAX_CHARS
              ) -> SafeString:
    """An escaped excerpt of `text` around its densest run of matches, each matching word in <mark>."""
    if _OPEN in text or _CLOSE in text:  # the two control characters that stand for the marks below
        text = text.replace(_OPEN, "").replace(_CLOSE, "")
    tokens = [(m.start(), m.end(), not stems.isdisjoint(_token_stems(m.group()))) for m in _WORD.finditer(text)]
    if not tokens:
        return mark_safe(escape(text[:max_chars]))
    hits = [i for i, token in enumerate(tokens) if token[2]]
    first = 0
    if hits:
        best = -1
        # The text's start, or two words before a match: the window holding the most matches wins, earliest first.
        for start in dict.fromkeys([0, *(max(0, h - 2) for h in hits)]):
            count = bisect.bisect_left(hits, start + words) - bisect.bisect_left(hits, start)
            if count > best:
                best, first = count, start
    char_start = tokens[first][0] if first else 0
    limit_at = char_start + max_chars
    out: list[str] = []  # raw text, matches between _OPEN and _CLOSE: escaped once at the end
    pos = char_start
    last = min(len(tokens), first + words)
    truncated = last < len(tokens)
    for start, end, matched in tokens[first:last]:
        if end > limit_at and start > char_start:
            truncated = True
            break
        out.append(text[pos:start][-max_chars:])  # punctuation and spaces between words
        long_word = end - start > max_chars  # one absurdly long "word": cut it and stop there
        piece = text[start:min(end, start + max_chars)]
        out.append(f"{_OPEN}{piece}{_CLOSE}" if matched else piece)
        pos = end
        if long_word:
            truncated = True
            break
    if not truncated:
        out.append(text[pos:pos + 20])
    html = escape("".join(out)).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")
    return mark_safe(("…" if char_start else "") + html + ("…" if truncated else ""))


# --- search logs and trending --------------------------------------------------------------------------------

def log_search(member, q: str | None) -> bool:
    """Store the normalised terms (True if stored) with the neighbourhood and city, never who searched.

    The same member searching the same term again within an hour is counted once: the dedup key lives in the cache
    only, as a keyed hash (no member id is readable from it) that expires.
    """
    term = normalise_term(q)
    if not term or not parse_query(term).words or member is None or member.neighbourhood_id is None:
        return False
    key = "search-log:" + salted_hmac("entraide.feed.search.log", f"{member.pk}:{term}").hexdigest()
    if not cache.add(key, 1, timeout=LOG_DEDUP_SECONDS):
        return False
    # The city comes from the neighbourhood row in the same statement: loading the member's neighbourhood would
    # bring its geometry along (kilobytes of JSON) for one id.
    log, neighbourhood = SearchLog._meta.db_table, Neighbourhood._meta.db_table
    with connection.cursor() as cursor:  # statistics: a crash may lose the last few, nobody would miss them
        cursor.execute(unhurried(f"INSERT INTO {log} (neighbourhood_id, city_id, term, created_at) "
                                 f"SELECT id, city_id, %s, %s FROM {neighbourhood}, unhurried WHERE id = %s"),
                       [term, connection.ops.adapt_datetimefield_value(timezone.now()), member.neighbourhood_id])
    return True


@dataclass(frozen=True)
class Trending:
    neighbourhood: list[tuple[str, int]]
    city: list[tuple[str, int]]


def _top_terms(logs, limit: int) -> list[tuple[str, int]]:
    rows = logs.values("term").annotate(n=Count("id")).order_by("-n", "term")[:TRENDING_SCAN]
    # Spellings that search the same words ("École", "ecoles", "les écoles") count together, shown in their most
    # frequent spelling.
    groups: dict[tuple, list] = {}
    for row in rows:
        key = parse_query(row["term"]).alternatives or ((row["term"],),)
        group = groups.setdefault(key, [0, row["term"], 0])
        group[0] += row["n"]
        if row["n"] > group[2]:
            group[1], group[2] = row["term"], row["n"]
    merged = [(spelling, total) for total, spelling, _best in groups.values() if total >= TRENDING_MIN_COUNT]
    merged.sort(key=lambda item: (-item[1], item[0]))
    return merged[:limit]


def trending(member, *, days: int = 7, limit: int = 10) -> Trending:
    """The most searched terms of the last `days` days in the member's neighbourhood and in their city."""
    if member is None or member.neighbourhood_id is None:
        return Trending(neighbourhood=[], city=[])
    since = timezone.now() - timedelta(days=days)
    recent = SearchLog.objects.filter(created_at__gte=since)
    return Trending(
        neighbourhood=_top_terms(recent.filter(neighbourhood_id=member.neighbourhood_id), limit),
        city=_top_terms(recent.filter(city_id=member.neighbourhood.city_id), limit),
    )
