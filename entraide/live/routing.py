"""WebSocket routes, mounted by entraide/asgi.py."""
from django.urls import path

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/v1/events", LiveConsumer.as_asgi()),
]
