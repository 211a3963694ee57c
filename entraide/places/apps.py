from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "entraide.places"
    label = "places"
    verbose_name = "Places"
