"""Feed pages (mounted at the site root by entraide/urls.py)."""
from django.urls import path

from . import views
from .feeds import NeighbourhoodAnnouncementsFeed

urlpatterns = [
    path("feed/", views.feed, name="feed"),
    path("feed/posts/<int:post_id>/", views.post_detail, name="post"),
    path("feed/posts/<int:post_id>/edit/", views.post_edit, name="post_edit"),
    path("feed/posts/<int:post_id>/delete/", views.post_delete, name="post_delete"),
    path("feed/posts/<int:post_id>/thanks/", views.post_thanks, name="post_thanks"),
    path("feed/posts/<int:post_id>/comments/", views.comment_create, name="comment_create"),
    path("feed/comments/<int:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("feed/comments/<int:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("feed/comments/<int:comment_id>/thanks/", views.comment_thanks, name="comment_thanks"),
    path("feed/images/<int:image_id>/", views.image, name="feed_image"),
    path("search/", views.search, name="search"),
    path("crisis/<slug:tag>/", views.crisis, name="crisis"),
    path("n/<int:neighbourhood_id>/atom.xml", NeighbourhoodAnnouncementsFeed(), name="neighbourhood_atom"),
]
