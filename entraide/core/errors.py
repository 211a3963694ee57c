"""One exception type for refusals, so pages and API answer with the same stable codes."""
from __future__ import annotations


class EntraideError(Exception):
    """A refusal the user can understand: an HTTP status, a stable snake_case code and a message."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None,
                 fields: dict[str, list[str]] | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)
        if status is not None:
            self.status = status
        self.fields = fields or {}
        self.retry_after = retry_after


class NotFound(EntraideError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__("not_found", message, status=404)


class Forbidden(EntraideError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=403)


class Conflict(EntraideError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, status=409)


class RateLimited(EntraideError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__("rate_limited", message, status=429, retry_after=retry_after)


def invalid(code: str, message: str, field: str, status: int = 422) -> EntraideError:
    """A refusal of one field's value: the message also stands under that field."""
    return EntraideError(code, message, status=status, fields={field: [message]})
