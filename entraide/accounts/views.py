from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from entraide.core.pages import member_or_404
from entraide.core.errors import EntraideError
from entraide.places.models import Neighbourhood

from . import actions, queries
from .forms import CodeForm, GeolocationForm, MoveForm, ProfileForm
from .letters import letters_pdf
from .permissions import can_act


@login_required
def profile(request):
    member = member_or_404(request)
    return render(request, "accounts/profile.html", {"member": member, "can_post": can_act(member)})


@login_required
def settings_page(request):
    member = member_or_404(request)
    initial = {"display_name": member.display_name, "language": member.language,
               "reads_nearby": [str(i) for i in member.reads_nearby.values_list("id", flat=True)]}
    form = ProfileForm(request.POST or None, member=member, initial=initial)
    move_form = MoveForm(prefix="move")
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_update_profile(member, display_name=form.cleaned_data["display_name"],
                                      language=form.cleaned_data["language"],
                                      reads_nearby=[int(i) for i in form.cleaned_data["reads_nearby"]])
        except EntraideError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your settings are saved."))
            response = redirect("settings")
            response.delete_cookie("django_language")
            return response
    return render(request, "accounts/settings.html", {"form": form, "move_form": move_form, "member": member})


@login_required
@require_POST
def move(request):
    member = member_or_404(request)
    form = MoveForm(request.POST, prefix="move")
    if form.is_valid():
        actions.do_move_home(member, address=form.cleaned_data.get("address"), lat=form.cleaned_data.get("lat"),
                             lon=form.cleaned_data.get("lon"))
        messages.success(request, _("Your address is saved."))
        return redirect("settings")
    profile_form = ProfileForm(member=member, initial={"display_name": member.display_name, "language": member.language})
    return render(request, "accounts/settings.html", {"form": profile_form, "move_form": form, "member": member},
                  status=400)


@login_required
def verify(request):
    member = member_or_404(request)
    letter_form, invitation_form = CodeForm(prefix="letter"), CodeForm(prefix="invitation")
    geolocation_form = GeolocationForm(prefix="geo")
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind")
        forms = {"letter": letter_form, "invitation": invitation_form, "geolocation": geolocation_form}
        if kind in forms:
            bound = type(forms[kind])(request.POST, prefix=forms[kind].prefix)
            forms[kind] = bound
            if bound.is_valid():
                try:
                    if kind == "letter":
                        actions.do_verify_letter_code(member, bound.cleaned_data["code"])
                    elif kind == "invitation":
                        actions.do_redeem_invitation(member, bound.cleaned_data["code"])
                    else:
                        actions.do_verify_geolocation(member, **bound.cleaned_data)
                except EntraideError as exc:
                    bound.add_error("code" if kind != "geolocation" else None, exc.message)
                    status = exc.status if exc.status in (403, 429) else 400
                else:
                    messages.success(request, _("Thank you, your address is verified."))
                    return redirect("neighbourhood", member.neighbourhood_id)
            else:
                status = 400
            letter_form, invitation_form, geolocation_form = forms["letter"], forms["invitation"], forms["geolocation"]
    return render(request, "accounts/verify.html", {
        "member": member, "letter_form": letter_form, "invitation_form": invitation_form,
        "geolocation_form": geolocation_form, "pending_letter": queries.pending_letter(member),
    }, status=status)


@login_required
def invitations(request):
    member = member_or_404(request)
    if request.method == "POST":
        try:
            invitation = actions.do_create_invitation(member)
        except EntraideError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("New invitation code: %(code)s") % {"code": invitation.code})
        return redirect("invitations")
    return render(request, "accounts/invitations.html",
                  {"member": member, "invitations": queries.invitations_of(member)})


@staff_member_required
def letters(request, neighbourhood_id: int):
    """Operators print letters for the pending members of one neighbourhood (POST: it issues new codes)."""
    neighbourhood = get_object_or_404(Neighbourhood, id=neighbourhood_id)
    if request.method != "POST":
        return render(request, "accounts/letters.html", {"neighbourhood": neighbourhood})
    issued = actions.do_issue_letters(neighbourhood, reissue=bool(request.POST.get("reissue")))
    pdf = letters_pdf(issued, site_url=request.build_absolute_uri("/").rstrip("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="entraide-letters-{neighbourhood.code}.pdf"'
    return response
