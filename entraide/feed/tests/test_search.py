"""Full-text search over posts and comments, and trending searches (issue 3, items 7 and 8).

Runs on both backends: SQLite (FTS5 over a stemmed shadow text) and PostgreSQL (tsvector, entraide_fr/entraide_en).
Posts are created with the ORM and indexed with `search.index_*`, so these tests do not depend on feed.actions.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from entraide.accounts.factories import MemberFactory
from entraide.core.errors import EntraideError
from entraide.feed import search
from entraide.feed.models import Comment, Post, SearchLog
from entraide.feed.search_models import SearchDoc
from entraide.places.models import City, Neighbourhood


@pytest.fixture
def home(neighbourhood):
    return neighbourhood


@pytest.fixture
def nearby_pair(home):
    """Two neighbours of home: the member reads the first, not the second."""
    chosen, other = list(home.nearby.order_by("name"))[:2]
    return chosen, other


@pytest.fixture
def far(paris, home):
    return Neighbourhood.objects.filter(city=paris).exclude(id=home.id).exclude(
        id__in=home.nearby.values("id")).order_by("name").first()


@pytest.fixture
def reader(home, nearby_pair):
    member = MemberFactory(neighbourhood=home, verified=True, display_name="Lucie Durand")
    member.reads_nearby.add(nearby_pair[0])
    return member


@pytest.fixture
def author(home):
    return MemberFactory(neighbourhood=home, verified=True, display_name="Karim Benali")


def make_post(author, body, *, title="", audience="neighbourhood", neighbourhood=None, age=None, html=None):
    post = Post.objects.create(neighbourhood=neighbourhood or author.neighbourhood, author=author, title=title,
                               audience=audience, body=body, body_html=html if html is not None else f"<p>{escape(body)}</p>")
    if age is not None:
        Post.objects.filter(id=post.id).update(created_at=timezone.now() - age)
        post.refresh_from_db()
    search.index_post(post)
    return post


def make_comment(author, post, body, *, age=None):
    comment = Comment.objects.create(post=post, neighbourhood=post.neighbourhood, author=author, body=body,
                                     body_html=f"<p>{escape(body)}</p>")
    if age is not None:
        Comment.objects.filter(id=comment.id).update(created_at=timezone.now() - age)
        comment.refresh_from_db()
    search.index_comment(comment)
    return comment


def found(member, q, **kwargs) -> list[int]:
    return [hit.post_id for hit in search.search(member, q, **kwargs).items]


def assert_index_consistent():
    """SQLite: the FTS5 index agrees with its content table (triggers kept it in step)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts, rank) VALUES ('integrity-check', 1)")


# --- words: accents, case, French and English stems ------------------------------------------------------------

def test_ecole_finds_ecoles_ecole_and_capitalised_ecoles(reader, author):
    plural = make_post(author, "Les écoles du quartier ferment plus tôt vendredi.")
    bare = make_post(author, "Quelqu'un va à l'ecole Saint-Merri demain ?")
    capital = make_post(author, "ECOLES ET CRÈCHES : les horaires d'été sont affichés.")
    make_post(author, "Vends un vélo d'enfant, bon état.")
    for q in ("école", "ecole", "Écoles", "ÉCOLE", "  écoles!  "):
        assert sorted(found(reader, q)) == sorted([plural.id, bare.id, capital.id]), q


def test_french_plurals_and_verb_forms_find_each_other(reader, author):
    courses = make_post(author, "Je peux faire une course pour vous au marché.")
    voisins = make_post(author, "Merci aux voisins pour leur aide !")
    perceuse = make_post(author, "Qui peut me prêter des perceuses ?")
    assert found(reader, "courses") == [courses.id]
    assert found(reader, "voisin") == [voisins.id]
    assert found(reader, "perceuse") == [perceuse.id]


def test_english_stems_match_too(reader, author):
    shops = make_post(author, "Which shops are open on Sunday?")
    shop = make_post(author, "The corner shop delivers now.")
    garden = make_post(author, "Free tools for the community garden")
    assert sorted(found(reader, "shopping")) == sorted([shops.id, shop.id])
    assert found(reader, "gardening") == [garden.id]


def test_every_word_of_the_query_must_match_but_stop_words_do_not_count(reader, author):
    both = make_post(author, "Cours de yoga gratuit au jardin partagé")
    yoga_only = make_post(author, "Tapis de yoga à donner")
    assert found(reader, "yoga jardin") == [both.id]
    assert sorted(found(reader, "le yoga")) == sorted([both.id, yoga_only.id])
    assert found(reader, "les de la") == []


# --- ranking and snippets --------------------------------------------------------------------------------------

def test_a_title_match_ranks_above_a_body_match_then_newer_first(reader, author):
    body_new = make_post(author, "On cherche une baby-sitter pour la sortie de la bibliothèque.", title="Sortie",
                         age=timedelta(minutes=1))
    title_old = make_post(author, "Horaires changés cette semaine.", title="Bibliothèque", age=timedelta(days=3))
    same_older = make_post(author, "Un livre oublié à la bibliothèque municipale.", age=timedelta(hours=5))
    same_newer = make_post(author, "Un livre oublié à la bibliothèque municipale.", age=timedelta(hours=1))
    page = search.search(reader, "bibliothèque")
    ids = [hit.post_id for hit in page.items]
    assert ids[0] == title_old.id
    assert ids.index(same_newer.id) < ids.index(same_older.id)
    assert set(ids) == {body_new.id, title_old.id, same_older.id, same_newer.id}
    ranks = [hit.rank for hit in page.items]
    assert ranks == sorted(ranks, reverse=True)


def test_the_snippet_marks_matches_and_escapes_everything_else(reader, author):
    body = "<script>alert('x')</script> Les écoles & crèches rouvrent lundi, école maternelle comprise."
    make_post(author, body, html=f"<p>{escape(body)}</p>")
    [hit] = search.search(reader, "ecole").items
    assert "<mark>écoles</mark>" in hit.snippet_html
    assert "<mark>école</mark>" in hit.snippet_html
    assert "<script>" not in hit.snippet_html
    assert "&lt;script&gt;" in hit.snippet_html
    assert "&amp; crèches" in hit.snippet_html
    assert hit.snippet_html.count("<") == hit.snippet_html.count("<mark>") + hit.snippet_html.count("</mark>")


def test_the_snippet_of_a_long_post_is_cut_around_the_match(reader, author):
    body = " ".join(["Bonjour"] * 200) + " une trottinette trouvée rue des Archives " + " ".join(["merci"] * 200)
    make_post(author, body)
    [hit] = search.search(reader, "trottinette").items
    assert "<mark>trottinette</mark>" in hit.snippet_html
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    assert len(hit.snippet_html) < 400


def test_a_hit_says_who_wrote_it_and_where(reader, author, home):
    post = make_post(author, "Distribution de soupe ce soir", title="Soupe solidaire")
    [hit] = search.search(reader, "soupe").items
    assert (hit.kind, hit.post_id, hit.comment_id, hit.title) == ("post", post.id, None, "Soupe solidaire")
    assert hit.author_name == "Karim B."
    assert hit.neighbourhood_name == home.name
    assert hit.created_at == post.created_at


# --- scope -----------------------------------------------------------------------------------------------------

def test_a_member_finds_only_what_the_feed_shows_them(reader, home, nearby_pair, far):
    chosen, not_chosen = nearby_pair
    mine = MemberFactory(neighbourhood=home)
    there = MemberFactory(neighbourhood=chosen)
    elsewhere = MemberFactory(neighbourhood=not_chosen)
    faraway = MemberFactory(neighbourhood=far)
    home_private = make_post(mine, "Potager partagé : qui arrose ?", audience="neighbourhood")
    home_public = make_post(mine, "Potager partagé, ouvert à tous", audience="nearby")
    chosen_public = make_post(there, "Potager de la rue, venez voir", audience="nearby")
    make_post(there, "Potager réservé au quartier", audience="neighbourhood")
    make_post(elsewhere, "Potager du square, venez voir", audience="nearby")
    make_post(faraway, "Potager lointain, venez voir", audience="nearby")
    assert sorted(found(reader, "potager")) == sorted([home_private.id, home_public.id, chosen_public.id])


def test_comments_follow_the_scope_of_their_post(reader, nearby_pair):
    chosen, _ = nearby_pair
    there = MemberFactory(neighbourhood=chosen)
    private = make_post(there, "Réunion de copropriété", audience="neighbourhood")
    make_comment(there, private, "Le compost sera livré jeudi")
    assert found(reader, "compost") == []


def _docs_with_scope_token(token: str, word: str = "crepes") -> set[int]:
    """Documents the full-text index itself files under a scope token (not the SQL condition)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            stems = search.word_stems(search.fold(word)[0])
            cursor.execute("SELECT rowid FROM feed_searchdoc_fts WHERE feed_searchdoc_fts MATCH %s",
                           [" OR ".join(f'"{token}_{stem}"' for stem in stems)])
        else:
            cursor.execute("SELECT id FROM feed_searchdoc WHERE search_vector @@ to_tsquery('simple', %s)", [token])
        return {row[0] for row in cursor.fetchall()}


def test_the_index_files_each_document_under_who_may_read_it_and_follows_audience_changes(nearby_pair):
    chosen, _ = nearby_pair
    there = MemberFactory(neighbourhood=chosen)
    post = make_post(there, "Fête des voisins, crêpes", audience="nearby")
    comment = make_comment(there, post, "J'apporte des crêpes")
    docs = set(SearchDoc.objects.filter(post=post).values_list("id", flat=True))
    assert len(docs) == 2
    assert _docs_with_scope_token(f"h{chosen.id}") == docs
    assert _docs_with_scope_token(f"a{chosen.id}") == docs
    post.audience = "neighbourhood"
    post.save()
    search.index_post(post)
    assert _docs_with_scope_token(f"a{chosen.id}") == set()
    assert _docs_with_scope_token(f"h{chosen.id}") == docs
    assert SearchDoc.objects.get(comment=comment).scope_tokens == f"h{chosen.id}"


def test_a_post_whose_words_spell_a_scope_token_stays_out_of_other_scopes(reader, home, far):
    faraway = MemberFactory(neighbourhood=far)
    make_post(faraway, f"Potager h{home.id} a{home.id} h{home.id}_potag h{home.id}_potager",
              title=f"h{home.id}", audience="nearby")
    assert found(reader, "potager") == []
    assert found(reader, f"h{home.id}") == []


def test_a_member_without_a_scope_finds_nothing(author):
    make_post(author, "Potager partagé")
    assert search.search(None, "potager").items == []


# --- comments, edits, deletes ----------------------------------------------------------------------------------

def test_comments_are_found_and_linked_to_their_post(reader, author):
    post = make_post(author, "Qui a des outils ?", title="Outils")
    comment = make_comment(reader, post, "J'ai une perceuse à prêter ce weekend.")
    [hit] = search.search(reader, "perceuses").items
    assert (hit.kind, hit.post_id, hit.comment_id) == ("comment", post.id, comment.id)
    assert hit.title == "Outils"
    assert hit.author_name == "Lucie D."
    assert "<mark>perceuse</mark>" in hit.snippet_html


def test_an_edit_reindexes_the_post(reader, author):
    post = make_post(author, "Je donne un canapé bleu.")
    post.body = "Je donne une armoire ancienne."
    post.body_html = "<p>Je donne une armoire ancienne.</p>"
    post.title = "Don"
    post.save()
    search.index_post(post)
    assert found(reader, "canapé") == []
    assert found(reader, "armoires") == [post.id]
    assert SearchDoc.objects.filter(post=post).count() == 1
    assert_index_consistent()


def test_an_edited_comment_is_reindexed(reader, author):
    post = make_post(author, "Annonce")
    comment = make_comment(author, post, "Rendez-vous à la piscine")
    comment.body, comment.body_html = "Rendez-vous au gymnase", "<p>Rendez-vous au gymnase</p>"
    comment.save()
    search.index_comment(comment)
    assert found(reader, "piscine") == []
    assert found(reader, "gymnase") == [post.id]
    assert_index_consistent()


def test_changing_the_audience_carries_over_to_the_comments(nearby_pair):
    chosen, _ = nearby_pair
    there = MemberFactory(neighbourhood=chosen)
    reader = MemberFactory(neighbourhood=chosen.nearby.exclude(id=chosen.id).first())
    reader.reads_nearby.add(chosen)
    post = make_post(there, "Fête des voisins", audience="nearby")
    make_comment(there, post, "J'apporte des crêpes")
    assert found(reader, "crepes") == [post.id]
    post.audience = "neighbourhood"
    post.save()
    search.index_post(post)
    assert found(reader, "crepes") == []


def test_unindexing_a_post_removes_it_and_its_comments(reader, author):
    post = make_post(author, "Perdu un chat roux")
    make_comment(reader, post, "J'ai vu un chat roux rue Vieille-du-Temple")
    search.unindex_post(post.id)
    assert found(reader, "chat") == []
    assert not SearchDoc.objects.filter(post_id=post.id).exists()
    assert_index_consistent()


def test_unindexing_a_comment_removes_only_that_comment(reader, author):
    post = make_post(author, "Perdu un chat roux")
    comment = make_comment(reader, post, "Trouvé près de la fontaine")
    search.unindex_comment(comment.id)
    assert found(reader, "fontaine") == []
    assert found(reader, "chat") == [post.id]


def test_deleting_a_post_through_the_orm_also_removes_its_documents(reader, author):
    post = make_post(author, "Perdu des clés")
    make_comment(reader, post, "Des clés au café du coin")
    post.delete()
    assert found(reader, "clés") == []
    assert SearchDoc.objects.count() == 0
    assert_index_consistent()


# --- hostile and odd input -------------------------------------------------------------------------------------

FINDS_ECOLE = {'"école', 'école"', "école*", "-école", "^école", "{école}", "école\x00", "😀 école",
               "école & | ! : <->", "(école)", "école NOT"}


@pytest.mark.parametrize("q", [
    "(école)", "école NOT", '"', '"école', 'école"', "*", "école*", "NEAR(école vélo)", "NEAR", "-école", "école -vélo", "(((", ")",
    "école OR 1=1; DROP TABLE feed_post; --", "' OR ''='", "AND OR NOT", "title:école", "^école", "{école}",
    "école\x00", "%s %% ?", "\\", "😀 école", "مدرسة", "école & | ! : <->", "a" * 5000, "école " * 400,
    " ", "", None,
])
def test_hostile_or_odd_queries_never_raise(reader, author, q):
    post = make_post(author, "L'école du quartier")
    page = search.search(reader, q)
    assert isinstance(page.items, list)
    if q in FINDS_ECOLE:  # the only searchable word is "école"; the rest is syntax, not search words
        assert [hit.post_id for hit in page.items] == [post.id], q


def test_an_empty_query_gives_an_empty_page_and_no_log(reader, author):
    make_post(author, "L'école du quartier")
    assert search.search(reader, "   ").items == []
    assert search.search(reader, "?!").next_cursor is None
    assert not SearchLog.objects.exists()


# --- pagination ------------------------------------------------------------------------------------------------

def test_pages_cover_every_result_once(reader, author):
    # Written oldest first, as they would be: document ids follow creation.
    posts = [make_post(author, f"Atelier couture numéro {i}", age=timedelta(minutes=i)) for i in reversed(range(23))]
    posts.reverse()
    seen, cursor = [], None
    for _ in range(5):
        page = search.search(reader, "couture", cursor=cursor, limit=10)
        seen += [hit.post_id for hit in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(p.id for p in posts)
    assert len(seen) == len(set(seen))
    assert seen == [p.id for p in posts]  # equal relevance: newest first


def test_a_forged_cursor_is_refused(reader, author):
    make_post(author, "Atelier couture")
    with pytest.raises(EntraideError) as refused:
        search.search(reader, "couture", cursor="not-a-cursor")
    assert refused.value.code == "invalid_cursor"


def test_a_search_costs_a_constant_number_of_queries(reader, author, django_assert_max_num_queries):
    for i in range(30):
        post = make_post(author, f"Atelier réparation de vélos {i}")
        make_comment(reader, post, f"Je viens avec mon vélo {i}")
    search.search(reader, "vélo", limit=2)  # warm up the member's cached relations
    with django_assert_max_num_queries(8):
        page = search.search(reader, "vélo", limit=40)
    assert len(page.items) == 40


# --- search logs and trending ----------------------------------------------------------------------------------

def test_search_logs_store_the_normalised_term_with_places_but_never_the_member(reader, home):
    search.search(reader, "  École  Maternelle!! ")
    log = SearchLog.objects.get()
    assert log.term == "école maternelle"
    assert (log.neighbourhood_id, log.city_id) == (home.id, home.city_id)
    related = {f.related_model for f in SearchLog._meta.get_fields() if f.is_relation}
    assert related == {Neighbourhood, City}
    columns = {f.column for f in SearchLog._meta.concrete_fields}
    assert columns == {"id", "neighbourhood_id", "city_id", "term", "created_at"}


def test_the_same_member_searching_again_is_counted_once_and_page_two_is_not_a_search(reader, author):
    for i in range(25):
        make_post(author, f"Atelier couture {i}")
    first = search.search(reader, "couture")
    search.search(reader, "couture", cursor=first.next_cursor)
    search.search(reader, "Couture")
    assert SearchLog.objects.count() == 1


def _logs(term, neighbourhood, n, *, age=timedelta(hours=1)):
    for _ in range(n):
        log = SearchLog.objects.create(neighbourhood=neighbourhood, city=neighbourhood.city, term=term)
        SearchLog.objects.filter(id=log.id).update(created_at=timezone.now() - age)


def test_trending_counts_terms_per_neighbourhood_and_per_city_over_seven_days(reader, home, far):
    lyon = City.objects.create(name="Lyon")
    bellecour = Neighbourhood.objects.create(city=lyon, name="Bellecour", code="69002-1", geometry={}, min_lon=0,
                                             min_lat=0, max_lon=0, max_lat=0, centroid_lat=0, centroid_lon=0)
    _logs("école", home, 4)
    _logs("ecoles", home, 1)  # the same search words: counted with "école"
    _logs("canicule", home, 3)
    _logs("canicule", far, 3)
    _logs("piscine", far, 5)
    _logs("piscine", home, 9, age=timedelta(days=8))  # too old
    _logs("vélo", bellecour, 10)  # another city
    _logs("rare", home, 2)  # below the threshold: one person's search is not shown
    trend = search.trending(reader)
    assert trend.neighbourhood == [("école", 5), ("canicule", 3)]
    assert trend.city == [("canicule", 6), ("piscine", 5), ("école", 5)]


def test_trending_respects_the_limit_and_is_empty_without_a_neighbourhood(reader, home):
    for i in range(12):
        _logs(f"terme{i:02d}", home, 3 + i)
    assert [t for t, _n in search.trending(reader, limit=3).neighbourhood] == ["terme11", "terme10", "terme09"]
    assert search.trending(None).city == []


# --- API -------------------------------------------------------------------------------------------------------

def test_the_search_endpoint_answers_a_list_page(client, reader, author):
    post = make_post(author, "<b>Cours</b> de français", html="<p>&lt;b&gt;Cours&lt;/b&gt; de français</p>",
                     title="Langues")
    client.force_login(reader.user)
    response = client.get("/api/v1/search", {"q": "cours"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"items", "next_cursor"}
    [item] = body["items"]
    assert item["post_id"] == post.id and item["kind"] == "post" and item["comment_id"] is None
    assert item["snippet_html"].startswith("&lt;b&gt;<mark>Cours</mark>&lt;/b&gt;")
    assert set(item) == {"kind", "post_id", "comment_id", "title", "snippet_html", "author_name",
                         "neighbourhood_name", "created_at", "rank"}


def test_the_search_body_is_what_django_ninja_would_write_from_its_schema(client, reader, author):
    """The endpoint encodes its body itself (core.api.json_ok): hold it to SearchPageOut."""
    from ninja.responses import NinjaJSONEncoder

    from entraide.feed.search_api import SearchPageOut

    post = make_post(author, "Cours de couture", title="Couture")
    make_comment(reader, post, "Je viens au cours de couture")
    client.force_login(reader.user)
    body = client.get("/api/v1/search", {"q": "couture", "limit": 1}).json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    through_schema = SearchPageOut.model_validate(body).model_dump()
    assert body == json.loads(json.dumps(through_schema, cls=NinjaJSONEncoder))


def test_the_trending_endpoint_answers_both_lists(client, reader, home):
    _logs("canicule", home, 3)
    client.force_login(reader.user)
    response = client.get("/api/v1/search/trending")
    assert response.status_code == 200, response.content
    assert response.json() == {"neighbourhood": [{"term": "canicule", "count": 3}],
                               "city": [{"term": "canicule", "count": 3}]}


def test_search_endpoints_need_a_login(client):
    assert client.get("/api/v1/search", {"q": "école"}).status_code == 401
    assert client.get("/api/v1/search/trending").status_code == 401


def test_the_search_endpoint_refuses_a_forged_cursor_with_the_error_body(client, reader):
    client.force_login(reader.user)
    response = client.get("/api/v1/search", {"q": "école", "cursor": "%%%"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_the_search_endpoints_are_in_the_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/search" in paths and "/api/v1/search/trending" in paths


# --- the ranking window ----------------------------------------------------------------------------------------

def test_relevance_is_computed_among_the_newest_matches_only(reader, author, monkeypatch):
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    oldest = make_post(author, "Un mot sur la couture", title="Couture couture", age=timedelta(hours=5))
    middle = [make_post(author, f"Atelier couture {i}", age=timedelta(hours=4 - i)) for i in range(3)]
    ids = [hit.post_id for hit in search.search(reader, "couture").items]
    assert oldest.id not in ids  # the most relevant, but older than the window
    assert sorted(ids) == sorted(p.id for p in middle)
    monkeypatch.setattr(search, "RANK_WINDOW", 10)
    assert search.search(reader, "couture").items[0].post_id == oldest.id  # inside the window, it ranks first


def test_a_document_outside_the_readers_scope_is_never_shown_even_if_its_index_words_say_so(reader, author, far):
    shown = make_post(author, "Cours de couture mardi")
    strayed = make_post(author, "Cours de couture jeudi")
    # The index still carries home's scope words, the row says it moved away: the rule wins.
    SearchDoc.objects.filter(post_id=strayed.id).update(neighbourhood_id=far.id)
    assert [hit.post_id for hit in search.search(reader, "couture").items] == [shown.id]


def test_a_rebuilt_index_numbers_documents_in_order_of_creation(reader, author):
    old_post = make_post(author, "Troc de graines", age=timedelta(days=3))
    new_post = make_post(author, "Troc de livres", age=timedelta(days=1))
    comment = make_comment(author, old_post, "Je viens avec des graines", age=timedelta(days=2))
    assert search.rebuild_index() == 3
    docs = list(SearchDoc.objects.order_by("id").values_list("post_id", "comment_id"))
    assert docs == [(old_post.id, None), (old_post.id, comment.id), (new_post.id, None)]
    assert [hit.post_id for hit in search.search(reader, "troc").items] == [new_post.id, old_post.id]


# --- PostgreSQL: the newest documents first (migration 0005_search_scoped_lexemes) -----------------------------

def _ranking_queries(ctx) -> int:
    return sum("ts_rank_cd" in q["sql"] for q in ctx.captured_queries)


@pytest.mark.postgres
def test_a_frequent_word_is_ranked_among_the_newest_documents_with_one_query(reader, author, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    posts = [make_post(author, f"Atelier couture {i}", age=timedelta(hours=5 - i)) for i in range(4)]
    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    monkeypatch.setattr(search, "RECENT_DOCS", 2)  # the recent part: the two newest documents of the instance
    with CaptureQueriesContext(connection) as ctx:
        assert sorted(found(reader, "couture")) == sorted(p.id for p in posts[-2:])
    assert _ranking_queries(ctx) == 1


@pytest.mark.postgres
def test_a_word_too_rare_among_the_newest_documents_is_looked_for_everywhere(reader, author, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    old = [make_post(author, f"Troc de graines {i}", age=timedelta(days=3 + i)) for i in range(2)]
    make_post(author, "Cours de couture")
    newest = make_post(author, "Encore des graines")
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    monkeypatch.setattr(search, "RECENT_DOCS", 2)  # one match among the two newest: fewer than the window
    with CaptureQueriesContext(connection) as ctx:
        assert sorted(found(reader, "graines")) == sorted([newest.id, *(p.id for p in old)])
    assert _ranking_queries(ctx) == 2


@pytest.mark.postgres
def test_scoped_lexemes_keep_a_far_neighbourhoods_documents_out_of_the_index_scan(reader, author, far):
    theirs = make_post(MemberFactory(neighbourhood=far), "Couture chez moi")
    mine = make_post(author, "Couture chez nous")
    with connection.cursor() as cursor:
        cursor.execute("SELECT post_id, scoped_vector::text FROM feed_searchdoc")
        lexemes = dict(cursor.fetchall())
    assert f"'h{far.id}_coutur'" in lexemes[theirs.id] and f"h{author.neighbourhood_id}_" not in lexemes[theirs.id]
    assert f"'h{author.neighbourhood_id}_coutur'" in lexemes[mine.id]
    assert found(reader, "couture") == [mine.id]


def test_a_query_of_database_stop_words_only_asks_for_nothing():
    assert search._scoped_tsquery(((), ()), ["h1", "a2"]) == ""
    assert search._scoped_tsquery((("ecol",), ()), ["h1"]) == "('h1_ecol')"
    assert search._scoped_tsquery((("l'x",),), ["h1"]) == "('h1_l''x')"


@pytest.mark.postgres
def test_a_word_as_long_as_the_database_allows_leaves_the_other_words_searchable(reader, author):
    # 2,046 letters: PostgreSQL indexes the word (its limit is 2,047 bytes), but prefixed by a scope token it does
    # not fit, and array_to_tsvector refuses it: the whole post could not be written.
    post = make_post(author, "Cours de couture " + "x" * 2046 + " le mardi")
    assert found(reader, "couture") == [post.id]
    assert found(reader, "mardi") == [post.id]
