"""What every app's page views share: the member behind a request, htmx requests, safe redirects."""
from __future__ import annotations

from django.http import Http404, HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def member_or_404(request: HttpRequest):
    """The signed-in member; a user without a member profile (an operator account, say) gets the page's 404."""
    from entraide.accounts.queries import member_of

    member = member_of(request.user)
    if member is None:
        raise Http404
    return member


def is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` the form or link asked for, if it stays on this site; else `default` (no open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default
