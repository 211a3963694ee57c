"""Atom feed of a neighbourhood's public announcements (official posts), off unless ENTRAIDE_ATOM_FEEDS is true.

Only what an operator published as official is in it: no member posts, no emails, the author as a public name.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from entraide.places.models import Neighbourhood

from . import queries

MAX_ITEMS = 50


def atom_feeds_enabled() -> bool:
    return bool(getattr(settings, "ENTRAIDE_ATOM_FEEDS", False))


def atom_feed_url(neighbourhood_id: int | None) -> str | None:
    """The path of a neighbourhood's Atom feed, for `<link rel="alternate">` on its pages; None when feeds are off
    (the feed answers 404 then, so no page points to it)."""
    if not atom_feeds_enabled() or neighbourhood_id is None:
        return None
    return reverse("neighbourhood_atom", args=[neighbourhood_id])


class NeighbourhoodAnnouncementsFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, neighbourhood_id: int):
        if not atom_feeds_enabled():
            raise Http404
        neighbourhood = Neighbourhood.objects.select_related("city").filter(id=neighbourhood_id).first()
        if neighbourhood is None:
            raise Http404
        return neighbourhood

    def title(self, obj):
        return _("Announcements · %(name)s") % {"name": obj.name}

    def subtitle(self, obj):
        return _("Public announcements of the neighbourhood %(name)s (%(city)s) on Entraide.") % {
            "name": obj.name, "city": obj.city.name}

    def link(self, obj):
        return reverse("neighbourhood", args=[obj.id])

    def items(self, obj):
        # Public announcements only: official posts are published for anyone to read, nothing else is listed.
        return queries.public_announcements(obj.id, limit=MAX_ITEMS)

    def item_title(self, item):
        return item.title or Truncator(item.body).words(12)

    def item_description(self, item):
        return item.body_html  # rendered and sanitised on write

    def item_link(self, item):
        return reverse("post", args=[item.id])

    def item_author_name(self, item):
        return item.author.public_name

    def item_pubdate(self, item):
        return item.created_at

    def item_updateddate(self, item):
        return item.edited_at or item.created_at

    def item_categories(self, item):
        return list(item.tags or [])
