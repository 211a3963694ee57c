from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "entraide.feed"
    label = "feed"
    verbose_name = "Feed"
