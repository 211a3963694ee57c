from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import City, Neighbourhood, PostcodeArea, Street, WaitlistEntry


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "country"]
    search_fields = ["name"]


@admin.register(Neighbourhood)
class NeighbourhoodAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "city", "member_count", "letters_link"]
    list_filter = ["city"]
    search_fields = ["name", "code"]
    readonly_fields = ["min_lon", "min_lat", "max_lon", "max_lat", "centroid_lat", "centroid_lon", "area_m2", "created_at", "updated_at"]
    exclude = ["h3_cover"]
    filter_horizontal = ["nearby"]

    @admin.display(description=_("members"))
    def member_count(self, obj):
        return obj.members.count()

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
