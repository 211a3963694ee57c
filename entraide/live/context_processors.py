"""Where the page's live-update script connects (owned by the live app).

`live_ws_url` is what entraide/core/static/entraide/live.js resolves against the page's own location:
- ENTRAIDE_WS_URL when the operator set one (an absolute `wss://...` or a path behind their proxy);
- `:<port>/ws/v1/events` when `entraide serve` runs the WebSockets on another port of the same host (REDIS_URL
  mode: gunicorn serves the pages on PORT, uvicorn the WebSockets on PORT+1; serve exports ENTRAIDE_WS_PORT);
- else `/ws/v1/events`, the page's own host and port, when this server speaks ASGI (embedded mode: one uvicorn
  serves everything);
- else "" (a WSGI server with nothing serving WebSockets beside it, e.g. a test server): base.html then leaves the
  script out rather than have every page fail to connect.
No query, no member data: the same string for every page of a server.
"""
from __future__ import annotations

import os

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest

WS_PATH = "/ws/v1/events"


def live_ws_url(request) -> str:
    explicit = getattr(settings, "ENTRAIDE_WS_URL", "")
    if explicit:
        return explicit
    port = os.environ.get("ENTRAIDE_WS_PORT", "")
    if port.isdigit():
        return f":{port}{WS_PATH}"
    return WS_PATH if isinstance(request, ASGIRequest) else ""


def live(request) -> dict:
    return {"live_ws_url": live_ws_url(request)}
