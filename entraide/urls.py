from django.contrib import admin
from django.urls import include, path, re_path

from entraide.accounts import views as account_views
from entraide.api import api, api_not_found
from entraide.places import views as place_views

urlpatterns = [
    # The API first: Django tries patterns in order, and API requests are the busiest (no page starts with api/).
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("", place_views.home, name="home"),
    path("n/<int:neighbourhood_id>/", place_views.neighbourhood, name="neighbourhood"),
    path("places/suggest/", place_views.suggest, name="suggest"),
    path("waitlist/", place_views.waitlist, name="waitlist"),
    path("places/outlines.geojson", place_views.outlines, name="outlines"),
    path("me/", account_views.profile, name="profile"),
    path("me/settings/", account_views.settings_page, name="settings"),
    path("me/move/", account_views.move, name="move"),
    path("verify/", account_views.verify, name="verify"),
    path("me/invitations/", account_views.invitations, name="invitations"),
    path("operators/letters/<int:neighbourhood_id>/", account_views.letters, name="letters"),
    path("", include("entraide.feed.urls")),
    path("", include("entraide.aid.urls")),
    path("", include("entraide.messaging.urls")),
    path("", include("entraide.notifications.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
