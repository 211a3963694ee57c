"""Cities, neighbourhoods (real polygons) and the offline gazetteer."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class City(models.Model):
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, default="FR")

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        constraints = [models.UniqueConstraint(fields=["name", "country"], name="city_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Neighbourhood(models.Model):
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="neighbourhoods", verbose_name=_("city"))
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=64)
    # GeoJSON geometry (Polygon or MultiPolygon, WGS84); no GDAL needed to store or read it.
    geometry = models.JSONField(_("geometry"))
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    centroid_lat = models.FloatField()
    centroid_lon = models.FloatField()
    area_m2 = models.FloatField(default=0)
    # Compacted H3 cells (resolution 9) that overlap the polygon: cheap region matching and future sharding.
    h3_cover = models.JSONField(default=list, blank=True)
    nearby = models.ManyToManyField("self", symmetrical=True, blank=True, verbose_name=_("nearby neighbourhoods"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("neighbourhood")
        verbose_name_plural = _("neighbourhoods")
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="neighbourhood_unique_code")]
        ordering = ["city__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.city.name})" if self.city_id else self.name


class Street(models.Model):
    """One street of one commune in the gazetteer; its point is the mean of its addresses."""

    name = models.CharField(max_length=255)
    name_norm = models.CharField(max_length=255, db_index=True)
    postcode = models.CharField(max_length=10, db_index=True)
    insee = models.CharField(max_length=10, blank=True)
    city_name = models.CharField(max_length=200)
    city_norm = models.CharField(max_length=200, db_index=True)
    lat = models.FloatField()
    lon = models.FloatField()
    address_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name_norm", "postcode", "insee"], name="street_unique")]

    def __str__(self) -> str:
        return f"{self.name}, {self.postcode} {self.city_name}"


class StreetToken(models.Model):
    """Inverted index from a significant word of a street name to the street (typo-tolerant candidate search)."""

    token = models.CharField(max_length=64)
    street = models.ForeignKey(Street, on_delete=models.CASCADE, related_name="tokens")

    class Meta:
        indexes = [models.Index(fields=["token"], name="streettoken_token")]
        constraints = [models.UniqueConstraint(fields=["token", "street"], name="streettoken_unique")]


class Address(models.Model):
    street = models.ForeignKey(Street, on_delete=models.CASCADE, related_name="addresses")
    number = models.PositiveIntegerField()
    rep = models.CharField(max_length=10, blank=True)  # "bis", "ter", "b", ... normalised to lower case
    lat = models.FloatField()
    lon = models.FloatField()
    ban_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "addresses"
        indexes = [models.Index(fields=["street", "number"], name="address_street_number")]
        constraints = [models.UniqueConstraint(fields=["street", "number", "rep"], name="address_unique")]


class PostcodeArea(models.Model):
    """A postcode or commune centroid (GeoNames): the coarsest fallback of the geocoder."""

    country = models.CharField(max_length=2, default="FR")
    postcode = models.CharField(max_length=10, db_index=True)
    place_name = models.CharField(max_length=200)
    place_norm = models.CharField(max_length=200, db_index=True)
    admin_name = models.CharField(max_length=200, blank=True)
    lat = models.FloatField()
    lon = models.FloatField()
    accuracy = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["country", "postcode", "place_norm"], name="postcode_unique")]


class WaitlistEntry(models.Model):
    """Someone outside every neighbourhood who wants to hear when their area opens.

    Only a blurred cell is kept, never the exact point, so the list can be shared with organisers.
    """

    email = models.EmailField()
    blurred_cell = models.CharField(max_length=20, db_index=True)
    area_label = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=8, default="fr")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("waiting list entry")
        verbose_name_plural = _("waiting list")
        constraints = [models.UniqueConstraint(fields=["email", "blurred_cell"], name="waitlist_unique")]
