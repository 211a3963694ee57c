"""ASGI entry point: pages and API through Django, `/ws/v1/events` through Channels (entraide/live).

`entraide serve` runs it with uvicorn: alone in embedded mode (pages and WebSockets in one process), or beside
gunicorn for the WebSockets only when REDIS_URL is set.
"""
import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entraide.settings")
django_application = get_asgi_application()  # sets Django up before the imports below touch models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from entraide.live import fanout  # noqa: E402
from entraide.live.auth import LiveAuthMiddleware  # noqa: E402
from entraide.live.routing import websocket_urlpatterns  # noqa: E402


async def lifespan(scope, receive, send) -> None:
    """The server's own event loop, noted at start-up: writes made in plain threads of this process (background
    jobs in embedded mode) hand their live updates to it (entraide.live.fanout.server_loop)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            fanout.server_loop = asyncio.get_running_loop()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            fanout.server_loop = None
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter({
    "http": django_application,
    # The origin check and authentication both live in LiveAuthMiddleware: a bearer token skips the origin check,
    # the session cookie needs it (entraide/live/auth.py says why).
    "lifespan": lifespan,
    "websocket": CookieMiddleware(SessionMiddleware(LiveAuthMiddleware(URLRouter(websocket_urlpatterns)))),
})
