from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import actions
from .models import InvitationCode, LetterCode, Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "neighbourhood", "verification_state", "verification_method", "created_at"]
    list_filter = ["verification_state", "verification_method", "neighbourhood__city"]
    list_select_related = ["user", "neighbourhood__city"]
    search_fields = ["display_name", "user__email"]
    raw_id_fields = ["user"]
    # The home moves only through actions.do_move_home (the member's settings): it recomputes the neighbourhood and
    # the public H3 cell together, which a hand edit here would leave stale.
    readonly_fields = ["address_text", "lat", "lon", "street_name", "location_precision", "neighbourhood",
                       "blurred_cell", "verified_at", "created_at"]
    filter_horizontal = ["reads_nearby"]
    actions = ["verify_members"]

    # permissions=["change"]: without it, staff who may only view members could verify them.
    @admin.action(description=_("Mark as verified (checked by an operator)"), permissions=["change"])
    def verify_members(self, request, queryset):
        for member in queryset.filter(verification_state="pending"):
            actions.do_operator_verify(member)
        messages.success(request, _("Members verified."))


@admin.register(LetterCode)
class LetterCodeAdmin(admin.ModelAdmin):
    list_display = ["member", "neighbourhood", "created_at", "used_at", "attempts"]
    list_select_related = ["member", "neighbourhood__city"]
    exclude = ["code_hash"]
    readonly_fields = ["member", "neighbourhood", "created_at", "printed_at", "used_at", "attempts"]


@admin.register(InvitationCode)
class InvitationCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "issuer", "neighbourhood", "expires_at", "used_by"]
    list_select_related = ["issuer", "used_by", "neighbourhood__city"]
    raw_id_fields = ["issuer", "used_by", "neighbourhood"]
