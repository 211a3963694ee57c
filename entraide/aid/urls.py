"""Mutual-aid pages (mounted at the site root by entraide/urls.py)."""
from django.urls import path

from . import views

urlpatterns = [
    path("aid/", views.home, name="aid_home"),
    path("aid/ask/", views.ask, name="aid_ask"),
    path("aid/offer/", views.offer, name="aid_offer"),
    path("aid/map/", views.help_map, name="aid_map"),
    path("aid/crisis/", views.crisis, name="aid_crisis"),
    path("aid/requests/<int:request_id>/", views.request_detail, name="aid_request"),
    path("aid/requests/<int:request_id>/edit/", views.request_edit, name="aid_request_edit"),
    path("aid/requests/<int:request_id>/<slug:verb>/", views.request_action, name="aid_request_action"),
]
