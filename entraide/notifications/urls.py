"""Notification pages (mounted at the site root by entraide/urls.py)."""
from django.urls import path

from . import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.bell, name="notifications_bell"),
    path("notifications/read/", views.mark_all_read, name="notifications_read"),
    path("notifications/<int:notification_id>/", views.open_notification, name="notification_open"),
    path("notifications/settings/", views.settings_page, name="notification_settings"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="notifications_unsubscribe"),
]
