"""The bell in the header: the member's unread notification count (owned by the notifications app)."""


def bell(request) -> dict:
    return {}
