from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.gzip import gzip_page

from entraide.accounts.forms import WaitlistForm
from entraide.accounts.permissions import can_act
from entraide.accounts.queries import member_of, neighbours_for
from entraide.core import ratelimit
from entraide.core.errors import EntraideError, NotFound

from . import actions, queries
from .api import geocode_candidates


def home(request):
    member = member_of(request.user)
    if member is not None:
        return redirect("neighbourhood", member.neighbourhood_id)
    return render(request, "places/landing.html")


@login_required
def neighbourhood(request, neighbourhood_id: int):
    member = member_of(request.user)
    try:
        n = queries.neighbourhood_for_member(member, neighbourhood_id)
    except NotFound:
        raise Http404
    is_home = n.id == member.neighbourhood_id
    from entraide.feed.feeds import atom_feed_url  # the page shows the feed's parts; places does not depend on feed

    return render(request, "places/neighbourhood.html", {
        "atom_feed_url": atom_feed_url(n.id),
        "neighbourhood": n, "nearby": queries.nearby_of(n), "is_home": is_home, "member": member,
        "can_post": can_act(member), "neighbours": neighbours_for(member, limit=50) if is_home else [],
        "geometry_json": json.dumps(n.geometry),
    })


PRECISION_LABELS = {"housenumber": _lazy("exact address"), "street": _lazy("street only"),
                    "postcode": _lazy("postcode area"), "municipality": _lazy("town")}


def suggest(request):
    """Address suggestions while typing (htmx); plain GET works too."""
    q = (request.GET.get("address") or request.GET.get("q") or "").strip()
    candidates = []
    if len(q) >= 3:
        try:
            ratelimit.hit("geocode", ratelimit.client_ip(request), limit=120, window_s=60)
            candidates = geocode_candidates(q[:300], 5)
        except EntraideError:
            candidates = []
    candidates = [dict(c.dict(), precision_label=PRECISION_LABELS.get(c.precision, c.precision)) for c in candidates]
    return render(request, "places/suggestions.html", {"candidates": candidates, "q": q})


def waitlist(request):
    form = WaitlistForm(request.POST or None, initial={key: request.GET.get(key, "") for key in ("address", "lat", "lon")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Only a geocoder label is kept, reduced to postcode and town by do_join_waitlist; never the typed text.
        lat, lon, label, typed = data.get("lat"), data.get("lon"), "", data.get("address") or ""
        if lat is None or lon is None:
            candidates = geocode_candidates(typed, 1) if typed else []
            if candidates:
                lat, lon, label = candidates[0].lat, candidates[0].lon, candidates[0].label
        if lat is None or lon is None:
            form.add_error("address", _("We could not find this place. Place the pin on the map."))
        elif queries.locate(lat, lon) is not None:
            form.add_error("address", _("This place is already covered: you can sign up now."))
        else:
            try:
                actions.do_join_waitlist(email=data["email"], lat=lat, lon=lon, area_label=label,
                                         language=getattr(request, "LANGUAGE_CODE", "fr"),
                                         ip=ratelimit.client_ip(request))
            except EntraideError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("You are on the waiting list. We will write when your area opens."))
                return redirect("home")
    return render(request, "places/waitlist.html", {"form": form}, status=400 if form.errors else 200)


@gzip_page
def outlines(request):
    """Simplified outlines of every neighbourhood (public facts) so the sign-up map is usable without tiles."""
    from django.core.cache import cache
    from django.http import HttpResponse

    body = cache.get("places:outlines")
    if body is None:
        body = json.dumps(queries.outlines_feature_collection(), separators=(",", ":"))
        cache.set("places:outlines", body, 300)
    response = HttpResponse(body, content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=300"
    return response
