"""Conversation pages (mounted at the site root by entraide/urls.py)."""
from django.urls import path

from . import views

urlpatterns = [
    path("messages/", views.inbox, name="messaging_inbox"),
    path("messages/new/", views.start, name="messaging_start"),
    path("messages/block/", views.block, name="messaging_block"),
    path("messages/<int:conversation_id>/", views.thread, name="messaging_thread"),
    path("messages/<int:conversation_id>/messages/", views.thread_messages, name="messaging_messages"),
    path("messages/<int:conversation_id>/report/", views.report, name="messaging_report"),
]
