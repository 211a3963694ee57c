"""Where the page's live-update script connects (owned by the live app)."""


def live(request) -> dict:
    return {}
