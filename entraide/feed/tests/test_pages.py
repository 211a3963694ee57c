"""The feed pages: who sees what, forms that say what is wrong next to the field, htmx partials, Atom, inertness."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from entraide.feed import actions
from entraide.feed.factories import CommentFactory, CrisisFactory, PostFactory
from entraide.feed.models import Comment, Post, Thanks


HX = {"HX-Request": "true"}
ATOM = "{http://www.w3.org/2005/Atom}"


def login(client, member):
    """Log in; the pages then speak English (the member's language), so texts can be asserted."""
    if member.language != "en":
        member.language = "en"
        member.save(update_fields=["language"])
    client.force_login(member.user)
    return client


def publish(member, **kwargs):
    kwargs.setdefault("category", "general")
    kwargs.setdefault("body", "Bonjour les voisins")
    return actions.do_create_post(member, **kwargs)


def png(size=(40, 30)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format="PNG")
    return SimpleUploadedFile("photo.png", out.getvalue(), content_type="image/png")


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def reads_home(nadia, home):
    """Nadia (Saint-Merri) chose to read Saint-Gervais."""
    nadia.reads_nearby.add(home)
    return nadia


# --- who sees what ------------------------------------------------------------------------------------------------

def test_the_feed_needs_a_login(client, paris):
    response = client.get("/feed/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_verified_member_gets_the_composer_with_pictures_and_a_markdown_hint(client, alice):
    page = html(login(client, alice).get("/feed/"))
    assert 'enctype="multipart/form-data"' in page
    assert re.search(r'<input type="file" name="images"[^>]*accept="image/\*"', page)
    assert re.search(r'<input type="file"[^>]*multiple', page)
    assert "**bold**" in page
    assert 'name="audience"' in page and 'value="nearby"' in page


def test_an_unverified_member_sees_a_notice_instead_of_the_composer(client, pending, alice):
    publish(alice, body="Un message de Alice")
    page = html(login(client, pending).get("/feed/"))
    assert 'id="composer"' not in page
    assert "verify your address first" in page
    assert "Un message de Alice" in page  # reading is allowed


def test_an_unverified_member_cannot_post_comment_or_thank(client, pending, alice):
    target = publish(alice)
    login(client, pending)
    response = client.post("/feed/", {"category": "general", "body": "Coucou", "audience": "neighbourhood"})
    assert response.status_code == 403
    response = client.post(f"/feed/posts/{target.id}/comments/", {"body": "Coucou"})
    assert response.status_code == 403
    response = client.post(f"/feed/posts/{target.id}/thanks/")
    assert response.status_code == 403
    assert Post.objects.count() == 1 and Comment.objects.count() == 0 and Thanks.objects.count() == 0


def test_a_post_of_another_neighbourhood_answers_404_everywhere(client, alice, zoe):
    target = publish(zoe, body="Chez Zoé")
    comment = CommentFactory(post=target, author=zoe)
    login(client, alice)
    for url in [f"/feed/posts/{target.id}/", f"/feed/posts/{target.id}/edit/", f"/feed/posts/{target.id}/delete/",
                f"/feed/comments/{comment.id}/edit/", f"/feed/comments/{comment.id}/delete/"]:
        assert client.get(url).status_code == 404, url
    for url in [f"/feed/posts/{target.id}/comments/", f"/feed/posts/{target.id}/thanks/",
                f"/feed/comments/{comment.id}/thanks/", f"/feed/posts/{target.id}/delete/"]:
        assert client.post(url, {"body": "Salut"}).status_code == 404, url
    assert Post.objects.filter(id=target.id).exists() and Comment.objects.count() == 1
    assert "Chez Zoé" not in html(client.get("/feed/"))


def test_a_nearby_reader_sees_nearby_posts_but_not_neighbourhood_only_ones(client, alice, reads_home):
    shared = publish(alice, body="Pour tout le quartier et autour", audience="nearby")
    private = publish(alice, body="Seulement Saint-Gervais")
    login(client, reads_home)
    page = html(client.get("/feed/"))
    assert "Pour tout le quartier et autour" in page and "Seulement Saint-Gervais" not in page
    assert client.get(f"/feed/posts/{shared.id}/").status_code == 200
    assert client.get(f"/feed/posts/{private.id}/").status_code == 404
    nearby_tab = html(client.get("/feed/?scope=nearby"))
    assert "Pour tout le quartier et autour" in nearby_tab
    assert "Pour tout le quartier et autour" not in html(client.get("/feed/?scope=home"))


def test_only_the_author_may_edit_or_delete(client, alice, bob):
    target = publish(alice)
    comment = actions.do_create_comment(alice, target.id, body="Mon commentaire")
    login(client, bob)
    for url in [f"/feed/posts/{target.id}/edit/", f"/feed/posts/{target.id}/delete/",
                f"/feed/comments/{comment.id}/edit/", f"/feed/comments/{comment.id}/delete/"]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"body": "Pris", "category": "general"}).status_code == 403, url
    assert Post.objects.get(id=target.id).body == "Bonjour les voisins"
    assert Comment.objects.get(id=comment.id).body == "Mon commentaire"
    page = html(client.get(f"/feed/posts/{target.id}/"))
    assert f"/feed/posts/{target.id}/edit/" not in page and f"/feed/posts/{target.id}/delete/" not in page


# --- writing ------------------------------------------------------------------------------------------------------

def test_publishing_from_the_composer(client, alice, media_root):
    response = login(client, alice).post("/feed/", {
        "category": "give_lend", "title": "Perceuse", "body": "Je prête ma **perceuse**.", "audience": "nearby",
        "tags": "outils, bricolage", "images": [png(), png()]})
    assert response.status_code == 302 and response["Location"] == "/feed/"
    post = Post.objects.get()
    assert (post.category, post.audience, post.title, post.tags) == ("give_lend", "nearby", "Perceuse",
                                                                     ["outils", "bricolage"])
    assert post.images.count() == 2
    page = html(client.get("/feed/"))
    assert "Your post is published." in page and "<strong>perceuse</strong>" in page
    image_id = post.images.first().id
    assert f'src="/feed/images/{image_id}/"' in page


def test_an_empty_body_is_shown_next_to_the_field_with_the_text_kept(client, alice):
    response = login(client, alice).post("/feed/", {"category": "general", "title": "Mon titre", "body": "  ",
                                                    "audience": "neighbourhood"})
    assert response.status_code == 400
    page = html(response)
    assert re.search(r'<textarea[^>]*aria-describedby="[^"]*id_post_body_error', page)
    assert 'id="id_post_body_error"' in page and "Write something first." in page
    assert 'value="Mon titre"' in page
    assert not Post.objects.exists()


def test_an_unknown_category_is_tied_to_the_category_field(client, alice):
    response = login(client, alice).post("/feed/", {"category": "spam", "body": "Bonjour", "audience": "nearby"})
    assert response.status_code == 400
    assert re.search(r'<select[^>]*aria-describedby="[^"]*id_post_category_error', html(response))


def test_an_error_of_the_action_is_tied_to_its_field(client, alice):
    # The form lets it through; the action refuses it (urgent alerts are short) and names the field.
    response = login(client, alice).post("/feed/", {"category": "urgent", "body": "x" * 200,
                                                    "audience": "neighbourhood"})
    assert response.status_code == 400
    page = html(response)
    assert 'id="id_post_body_error"' in page and "140" in page
    assert not Post.objects.exists()


def test_too_many_pictures_are_refused_on_the_field(client, alice, media_root):
    response = login(client, alice).post("/feed/", {"category": "general", "body": "Photos", "audience": "nearby",
                                                    "images": [png() for _ in range(5)]})
    assert response.status_code == 400
    assert 'id="id_post_images_error"' in html(response)
    assert not Post.objects.exists()


def test_the_kindness_reminder_keeps_the_text_and_lets_the_author_publish_anyway(client, alice):
    login(client, alice)
    data = {"category": "general", "body": "Quel idiot a garé sa voiture ici ?", "audience": "neighbourhood"}
    response = client.post("/feed/", data)
    page = html(response)
    assert response.status_code == 400 and not Post.objects.exists()
    assert 'role="alert"' in page and "could hurt a neighbour" in page
    assert '<input type="hidden" name="confirm_kindness" value="1">' in page
    assert "Quel idiot a garé sa voiture ici ?</textarea>" in page
    assert "Publish anyway" in page
    response = client.post("/feed/", {**data, "confirm_kindness": "1"})
    assert response.status_code == 302 and Post.objects.count() == 1


def test_the_kindness_reminder_on_a_comment(client, alice, bob):
    target = publish(alice)
    login(client, bob)
    response = client.post(f"/feed/posts/{target.id}/comments/", {"body": "Espèce de crétin"})
    page = html(response)
    assert response.status_code == 400 and not Comment.objects.exists()
    assert 'name="confirm_kindness" value="1"' in page and "Espèce de crétin</textarea>" in page
    response = client.post(f"/feed/posts/{target.id}/comments/", {"body": "Espèce de crétin",
                                                                  "confirm_kindness": "1"})
    assert response.status_code == 302 and Comment.objects.count() == 1


def test_commenting_and_replying_without_javascript(client, alice, bob):
    target = publish(alice)
    login(client, bob)
    response = client.post(f"/feed/posts/{target.id}/comments/", {"body": "Je peux aider"})
    first = Comment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/feed/posts/{target.id}/#comment-{first.id}"
    reply = client.post(f"/feed/posts/{target.id}/comments/", {"body": "Merci !", "parent_id": str(first.id)})
    assert reply.status_code == 302
    page = html(client.get(f"/feed/posts/{target.id}/"))
    assert "Je peux aider" in page and "Merci !" in page
    assert re.search(r'class="replies".*Merci !', page, re.S)
    assert f'id="id_reply{first.id}_body"' in page  # each reply form has its own ids


def test_an_empty_comment_is_refused_next_to_the_field(client, alice, bob):
    target = publish(alice)
    response = login(client, bob).post(f"/feed/posts/{target.id}/comments/", {"body": ""})
    assert response.status_code == 400
    assert re.search(r'<textarea[^>]*aria-describedby="[^"]*id_comment_body_error', html(response))


def test_editing_a_post_marks_it_edited(client, alice):
    target = publish(alice, title="Avant")
    login(client, alice)
    page = html(client.get(f"/feed/posts/{target.id}/edit/"))
    assert 'value="Avant"' in page
    response = client.post(f"/feed/posts/{target.id}/edit/", {"category": "advice", "title": "Après",
                                                              "body": "Nouveau texte", "tags": "jardin"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.title, target.body, target.category, target.tags) == ("Après", "Nouveau texte", "advice",
                                                                         ["jardin"])
    assert 'class="edited"' in html(client.get(f"/feed/posts/{target.id}/"))


def test_the_kindness_reminder_on_an_edit_then_save_anyway(client, alice):
    target = publish(alice)
    login(client, alice)
    data = {"category": "general", "title": "", "body": "Bande d'abrutis", "tags": ""}
    response = client.post(f"/feed/posts/{target.id}/edit/", data)
    page = html(response)
    assert response.status_code == 400 and 'role="alert"' in page and "Bande d&#x27;abrutis</textarea>" in page
    assert Post.objects.get(id=target.id).body == "Bonjour les voisins"
    response = client.post(f"/feed/posts/{target.id}/edit/", {**data, "confirm_kindness": "1"})
    assert response.status_code == 302 and Post.objects.get(id=target.id).body == "Bande d'abrutis"


def test_after_the_edit_window_the_post_cannot_be_edited(client, alice):
    target = publish(alice)
    Post.objects.filter(id=target.id).update(created_at=timezone.now() - timedelta(hours=3))
    login(client, alice)
    assert f"/feed/posts/{target.id}/edit/" not in html(client.get(f"/feed/posts/{target.id}/"))
    response = client.post(f"/feed/posts/{target.id}/edit/", {"category": "general", "body": "Trop tard"})
    assert response.status_code == 403
    assert Post.objects.get(id=target.id).body == "Bonjour les voisins"


def test_deleting_a_post_asks_first_then_deletes(client, alice):
    target = publish(alice, body="À supprimer")
    login(client, alice)
    confirm = client.get(f"/feed/posts/{target.id}/delete/")
    assert confirm.status_code == 200
    assert f'action="/feed/posts/{target.id}/delete/"' in html(confirm) and Post.objects.exists()
    response = client.post(f"/feed/posts/{target.id}/delete/")
    assert response.status_code == 302 and not Post.objects.exists()


def moved(member, neighbourhood):
    member.neighbourhood = neighbourhood
    member.save(update_fields=["neighbourhood"])
    member.reads_nearby.clear()
    return member


def test_an_author_who_moved_away_can_still_delete_their_old_post_from_its_page(client, alice, far):
    target = publish(alice, body="Mon ancien message")
    login(client, moved(alice, far))
    assert client.get(f"/feed/posts/{target.id}/").status_code == 404  # no longer readable
    confirm = client.get(f"/feed/posts/{target.id}/delete/")
    assert confirm.status_code == 200 and "Mon ancien message" in html(confirm)
    assert 'class="button" href="/feed/"' in html(confirm)  # "keep it" leads back to a page she can read
    response = client.post(f"/feed/posts/{target.id}/delete/")
    assert response.status_code == 302 and response["Location"] == "/feed/"
    assert not Post.objects.exists()


def test_an_author_who_moved_away_can_still_delete_their_old_comment_from_its_page(client, alice, bob, far):
    target = publish(alice)
    comment = actions.do_create_comment(bob, target.id, body="Mon ancien commentaire")
    login(client, moved(bob, far))
    confirm = client.get(f"/feed/comments/{comment.id}/delete/")
    assert confirm.status_code == 200 and "Mon ancien commentaire" in html(confirm)
    response = client.post(f"/feed/comments/{comment.id}/delete/")
    assert response.status_code == 302 and response["Location"] == "/feed/"
    assert not Comment.objects.exists() and Post.objects.get(id=target.id).comment_count == 0


def test_after_the_authors_move_others_still_get_404_or_403_on_the_delete_pages(client, alice, bob, zoe, far):
    target = publish(alice)
    comment = actions.do_create_comment(alice, target.id, body="Précision")
    moved(alice, far)
    for member, status in ((zoe, 404), (bob, 403)):
        login(client, member)
        for url in (f"/feed/posts/{target.id}/delete/", f"/feed/comments/{comment.id}/delete/"):
            assert client.get(url).status_code == status, (member, url)
            assert client.post(url).status_code == status, (member, url)
    assert Post.objects.filter(id=target.id).exists() and Comment.objects.filter(id=comment.id).exists()


def test_editing_and_deleting_a_comment(client, alice, bob):
    target = publish(alice)
    comment = actions.do_create_comment(bob, target.id, body="Premier jet")
    login(client, bob)
    response = client.post(f"/feed/comments/{comment.id}/edit/", {"body": "Version corrigée"})
    assert response.status_code == 302
    page = html(client.get(f"/feed/posts/{target.id}/"))
    assert "Version corrigée" in page and 'class="edited"' in page
    assert client.get(f"/feed/comments/{comment.id}/delete/").status_code == 200
    assert client.post(f"/feed/comments/{comment.id}/delete/").status_code == 302
    assert not Comment.objects.exists()
    assert Post.objects.get(id=target.id).comment_count == 0


def test_thanking_without_javascript_comes_back_and_shows_the_state(client, alice, bob):
    target = publish(alice)
    login(client, bob)
    response = client.post(f"/feed/posts/{target.id}/thanks/", {"next": "/feed/"})
    assert response.status_code == 302 and response["Location"] == "/feed/"
    page = html(client.get(f"/feed/posts/{target.id}/"))
    assert 'aria-pressed="true"' in page and "1 thanks" in page
    # An open redirect is not followed.
    response = client.post(f"/feed/posts/{target.id}/thanks/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/feed/posts/{target.id}/"


def test_one_cannot_thank_oneself(client, alice):
    target = publish(alice)
    page = html(login(client, alice).get(f"/feed/posts/{target.id}/"))
    assert 'aria-pressed' not in page
    response = client.post(f"/feed/posts/{target.id}/thanks/")
    assert response.status_code == 302 and not Thanks.objects.exists()


# --- htmx ---------------------------------------------------------------------------------------------------------

def test_htmx_comment_returns_the_comments_section_only(client, alice, bob):
    target = publish(alice)
    response = login(client, bob).post(f"/feed/posts/{target.id}/comments/", {"body": "Avec htmx"}, headers=HX)
    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<section id="comments"') and "<html" not in page
    assert re.search(rf'id="post-{target.id}-comment-count" hx-swap-oob="true">1 comment<', page)
    assert "Avec htmx" in page and "(1)" in page
    assert 'id="id_comment_body"' in page and "Avec htmx</textarea>" not in page  # a fresh form


def test_htmx_comment_errors_come_back_in_the_partial(client, alice, bob):
    target = publish(alice)
    response = login(client, bob).post(f"/feed/posts/{target.id}/comments/", {"body": ""}, headers=HX)
    assert response.status_code == 200  # htmx swaps only 2xx answers
    page = html(response)
    assert "<html" not in page and 'id="id_comment_body_error"' in page
    response = client.post(f"/feed/posts/{target.id}/comments/", {"body": "Sale con"}, headers=HX)
    assert 'name="confirm_kindness" value="1"' in html(response) and "Sale con</textarea>" in html(response)


def test_htmx_thanks_returns_the_button_with_the_new_count(client, alice, bob):
    target = publish(alice)
    comment = actions.do_create_comment(alice, target.id, body="Précision")
    login(client, bob)
    response = client.post(f"/feed/posts/{target.id}/thanks/", headers=HX)
    page = html(response)
    assert response.status_code == 200 and page.startswith("<form") and "<html" not in page
    assert 'data-count="1"' in page and 'aria-pressed="true"' in page
    page = html(client.post(f"/feed/comments/{comment.id}/thanks/", headers=HX))
    assert 'data-count="1"' in page and f'action="/feed/comments/{comment.id}/thanks/"' in page


def test_load_more_follows_the_cursor_and_htmx_gets_only_the_items(client, alice):
    for i in range(25):
        PostFactory(author=alice, body=f"Message numéro {i:02d}")
    login(client, alice)
    first = html(client.get("/feed/"))
    assert "Message numéro 24" in first and "Message numéro 04" not in first
    more = re.search(r'<a href="(\?cursor=[^"]+)" hx-get', first).group(1).replace("&amp;", "&")
    plain = client.get("/feed/" + more)
    assert plain.status_code == 200 and "Message numéro 04" in html(plain) and "<html" in html(plain)
    partial = html(client.get("/feed/" + more, headers=HX))
    assert "<html" not in partial and "Message numéro 00" in partial and "Message numéro 05" not in partial
    assert 'id="load-more"' not in partial  # the last page


def test_filters_by_category_and_tag(client, alice):
    publish(alice, body="Clés trouvées", category="lost_found")
    publish(alice, body="Tomates à donner", category="give_lend", tags=["jardin"])
    login(client, alice)
    page = html(client.get("/feed/?category=lost_found"))
    assert "Clés trouvées" in page and "Tomates à donner" not in page
    page = html(client.get("/feed/?tag=jardin"))
    assert "Tomates à donner" in page and "Clés trouvées" not in page
    assert client.get("/feed/?category=nonsense&scope=weird").status_code == 200  # ignored, not an error
    assert client.get("/feed/?cursor=garbage").status_code == 400


# --- crisis -------------------------------------------------------------------------------------------------------

def test_a_crisis_shows_a_banner_a_filter_and_its_page(client, alice, bob):
    crisis = CrisisFactory(name="Canicule", tag="canicule", banner="Buvez de l'eau, pensez aux voisins isolés.")
    publish(alice, body="Qui a un ventilateur ?", crisis_tag="canicule")
    publish(alice, body="Vide-grenier dimanche")
    login(client, bob)
    page = html(client.get("/feed/"))
    assert "Buvez de l&#x27;eau" in page and 'href="/crisis/canicule/"' in page
    assert 'value="canicule"' in page  # the crisis checkbox of the composer
    assert "?crisis=1" in page
    filtered = html(client.get("/feed/?crisis=1"))
    assert "Qui a un ventilateur ?" in filtered and "Vide-grenier dimanche" not in filtered
    crisis_page = client.get(f"/crisis/{crisis.tag}/")
    assert crisis_page.status_code == 200
    assert "Qui a un ventilateur ?" in html(crisis_page) and "Vide-grenier dimanche" not in html(crisis_page)
    assert "Buvez de l&#x27;eau" in html(client.get(f"/n/{bob.neighbourhood_id}/"))  # on every page
    assert client.get("/crisis/nothing-here/").status_code == 404


def test_the_page_of_another_citys_crisis_answers_404(client, alice, paris):
    from entraide.places.models import City

    lyon = City.objects.create(name="Lyon", country="FR")
    CrisisFactory(name="Crue du Rhône", tag="crue-rhone", cities=[lyon])
    CrisisFactory(name="Crue de la Seine", tag="crue-seine", cities=[paris])
    login(client, alice)
    assert client.get("/crisis/crue-rhone/").status_code == 404
    assert "Crue du Rhône" not in html(client.get("/feed/"))
    assert client.get("/crisis/crue-seine/").status_code == 200


def test_publishing_in_a_crisis_from_the_composer(client, alice):
    CrisisFactory(tag="inondation")
    response = login(client, alice).post("/feed/", {"category": "safety", "body": "La cave est inondée",
                                                    "audience": "neighbourhood", "crisis_tag": "inondation"})
    assert response.status_code == 302
    assert Post.objects.get().crisis.tag == "inondation"


def test_no_crisis_no_banner_no_filter(client, alice):
    page = html(login(client, alice).get("/feed/"))
    assert "banner crisis" not in page and "crisis=1" not in page and 'name="crisis_tag"' not in page


# --- search -------------------------------------------------------------------------------------------------------

def test_search_marks_the_matches_and_escapes_the_rest(client, alice, bob):
    publish(alice, title="<b>Sortie</b>", body="Les écoles ferment <script>alert(1)</script> plus tôt")
    login(client, bob)
    response = client.get("/search/", {"q": "école"})
    page = html(response)
    assert response.status_code == 200
    assert "<mark>écoles</mark>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;Sortie&lt;/b&gt;" in page


def test_search_pages_and_trending(client, alice, bob, pending):
    for i in range(25):
        publish_kwargs = {"body": f"Atelier vélo numéro {i}"}
        PostFactory(author=alice, **publish_kwargs)
    from entraide.feed import search

    for post in Post.objects.all():
        search.index_post(post)
    login(client, bob)
    page = html(client.get("/search/", {"q": "vélo"}))
    assert page.count('class="result"') == 20
    more = re.search(r'href="/search/(\?q=[^"]+cursor=[^"]+)"', page).group(1).replace("&amp;", "&")
    assert html(client.get("/search/" + more)).count('class="result"') == 5
    for member in (alice, pending):  # three members searched it: it trends
        login(client, member)
        client.get("/search/", {"q": "vélo"})
    assert 'href="/search/?q=v%C3%A9lo"' in html(client.get("/search/"))


def test_search_finds_nothing_out_of_scope(client, alice, zoe):
    publish(zoe, body="Les écoles de Combat")
    page = html(login(client, alice).get("/search/", {"q": "écoles"}))
    assert "Combat" not in page and "Nothing found" in page


# --- pictures -----------------------------------------------------------------------------------------------------

def test_a_picture_is_served_in_scope_only_with_a_private_cache(client, alice, bob, zoe, media_root):
    target = publish(alice, images=[png()])
    image = target.images.get()
    response = login(client, bob).get(f"/feed/images/{image.id}/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")
    assert response["Content-Type"] == "image/png"
    login(client, zoe)
    assert client.get(f"/feed/images/{image.id}/").status_code == 404
    assert client.get("/feed/images/999999/").status_code == 404


# --- Atom ---------------------------------------------------------------------------------------------------------

def test_the_atom_feed_is_off_by_default(client, alice):
    PostFactory(author=alice, official=True)
    assert client.get(f"/n/{alice.neighbourhood_id}/atom.xml").status_code == 404


def test_the_atom_feed_lists_only_official_posts_without_emails(client, settings, alice, bob):
    settings.ENTRAIDE_ATOM_FEEDS = True
    official = PostFactory(author=alice, official=True, title="Coupure d'eau mardi", body="De 9 h à 12 h.")
    PostFactory(author=bob, title="Message privé de Bruno", body="Pas pour l'extérieur")
    response = client.get(f"/n/{alice.neighbourhood_id}/atom.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Coupure d'eau mardi"]
    link = entries[0].find(f"{ATOM}link").get("href")
    assert link.endswith(f"/feed/posts/{official.id}/")
    assert entries[0].find(f"{ATOM}author/{ATOM}name").text == "Alice M."
    assert entries[0].find(f"{ATOM}author/{ATOM}email") is None
    body = html(response)
    assert "@" not in body and "Bruno" not in body
    assert client.get("/n/999999/atom.xml").status_code == 404


def test_a_standard_feed_parser_reads_the_atom_feed_without_complaint(client, settings, alice):
    import feedparser

    settings.ENTRAIDE_ATOM_FEEDS = True
    official = PostFactory(author=alice, official=True, title="Coupure d'eau mardi", body="De 9 h à 12 h.")
    parsed = feedparser.parse(client.get(f"/n/{alice.neighbourhood_id}/atom.xml").content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert alice.neighbourhood.name in parsed.feed.title
    [entry] = parsed.entries
    assert (entry.title, entry.author) == ("Coupure d'eau mardi", "Alice M.")
    assert entry.link.endswith(f"/feed/posts/{official.id}/")
    assert entry.updated_parsed is not None


ATOM_LINK = re.compile(r'<link rel="alternate" type="application/atom\+xml" href="([^"]+)" title="([^"]+)">')


def test_with_atom_feeds_on_the_feed_page_points_feed_readers_to_the_neighbourhoods_feed(client, settings, alice):
    settings.ENTRAIDE_ATOM_FEEDS = True
    page = html(login(client, alice).get("/feed/"))
    head = page.split("</head>")[0]
    assert ATOM_LINK.findall(head) == [(f"/n/{alice.neighbourhood_id}/atom.xml", "Announcements · Saint-Gervais")]
    assert client.get(ATOM_LINK.search(head).group(1)).status_code == 200  # the link leads to the feed


def test_with_atom_feeds_on_the_neighbourhood_page_links_its_atom_feed(client, settings, alice, nearby):
    settings.ENTRAIDE_ATOM_FEEDS = True
    login(client, alice)
    for neighbourhood_id, name in ((alice.neighbourhood_id, "Saint-Gervais"), (nearby.id, "Saint-Merri")):
        response = client.get(f"/n/{neighbourhood_id}/")
        assert response.status_code == 200
        head = html(response).split("</head>")[0]
        assert ATOM_LINK.findall(head) == [(f"/n/{neighbourhood_id}/atom.xml", f"Announcements · {name}")]


def test_with_atom_feeds_off_no_page_links_a_feed(client, alice):
    login(client, alice)
    for url in ("/feed/", f"/n/{alice.neighbourhood_id}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "application/atom+xml" not in html(response), url


# --- inertness ----------------------------------------------------------------------------------------------------

def test_script_in_posts_and_comments_is_rendered_inert(client, alice, bob):
    target = publish(alice, title='<img src=x onerror="alert(1)">',
                     body='<script>alert("post")</script> [clic](javascript:alert(1)) <b onclick=x>gras</b>',
                     tags=["<svg/onload=alert(1)>"])
    actions.do_create_comment(bob, target.id, body="<iframe src=javascript:alert(2)></iframe>")
    login(client, bob)
    for url in ["/feed/", f"/feed/posts/{target.id}/"]:
        page = html(client.get(url))
        assert "<script>alert" not in page and "<img src=x" not in page and "<iframe" not in page
        assert 'href="javascript:' not in page and "<b onclick" not in page and "<svg" not in page
        assert "&lt;script&gt;" in page
