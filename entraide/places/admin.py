from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import City, Neighbourhood, PostcodeArea, Street, WaitlistEntry


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "country"]
    search_fields = ["name"]
    actions = ["replan_help_backlog"]

    @admin.action(description=_("Re-plan the waiting help requests (surge)"), permissions=["replan"])
    def replan_help_backlog(self, request, queryset):
        # Mutual aid's batch planner, for operators during a surge (entraide/aid/replan.py).
        from entraide.accounts.queries import member_of
        from entraide.aid.replan import do_replan_backlog

        for city in queryset:
            result = do_replan_backlog(member_of(request.user), city_id=city.id)
            self.message_user(request, _("%(city)s: %(proposed)d of %(requests)d waiting requests proposed to a "
                                         "helper, %(unmatched)d without anyone in reach.")
                              % {"city": city.name, "proposed": result.proposed, "requests": result.requests,
                                 "unmatched": result.unmatched})

    def has_replan_permission(self, request) -> bool:
        return request.user.is_staff and request.user.has_perm("aid.add_matchproposal")


@admin.register(Neighbourhood)
class NeighbourhoodAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "city", "member_count", "letters_link"]
    list_filter = ["city"]
    list_select_related = ["city"]
    search_fields = ["name", "code"]
    # The outline and what is derived from it (bounding box, centroid, area, H3 cover, the point index) are
    # computed together by the import: an edit here would leave the others stale, so re-importing is the way.
    readonly_fields = ["geometry", "min_lon", "min_lat", "max_lon", "max_lat", "centroid_lat", "centroid_lon",
                       "area_m2", "h3_cover_size", "created_at", "updated_at"]
    exclude = ["h3_cover"]
    filter_horizontal = ["nearby"]

    def get_queryset(self, request):
        # One query for the whole changelist rather than one count per row.
        return super().get_queryset(request).annotate(member_total=Count("members", distinct=True))

    def has_add_permission(self, request):
        # A neighbourhood needs an outline, which only the import provides (entraide import-neighbourhoods).
        return False

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.display(description=_("H3 cells in the cover"))
    def h3_cover_size(self, obj):
        return len(obj.h3_cover or [])

    @admin.display(description=_("verification letters"))
    def letters_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("letters", args=[obj.id]), _("print"))


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ["name", "postcode", "city_name", "address_count"]
    search_fields = ["name_norm", "postcode"]


@admin.register(PostcodeArea)
class PostcodeAreaAdmin(admin.ModelAdmin):
    list_display = ["postcode", "place_name", "admin_name", "accuracy"]
    search_fields = ["postcode", "place_norm"]


@admin.register(WaitlistEntry)
class WaitlistAdmin(admin.ModelAdmin):
    list_display = ["email", "area_label", "blurred_cell", "created_at"]
    search_fields = ["email", "area_label"]
