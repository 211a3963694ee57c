from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


def _drop_clock_triggers(sender, using, **kwargs) -> None:
    # SQLite: a later migration that rebuilds feed_post (most AlterFields do) would fail while the clock triggers of
    # other tables read it, and would drop feed_post's own. They are put back once every migration has run.
    from django.db import connections

    from .clock import drop_triggers

    connection = connections[using]
    if connection.vendor == "sqlite":
        drop_triggers(connection)


def _create_clock_triggers(sender, using, **kwargs) -> None:
    from django.db import connections

    from .clock import create_triggers

    connection = connections[using]
    tables = connection.introspection.table_names()
    if "feed_feedclock" in tables:  # migrated back before 0006: no clock
        create_triggers(connection)
    if connection.vendor == "postgresql":  # what reader_cache.py keeps: its changes announced
        from .reader_cache import drop_statements, trigger_statements

        with connection.cursor() as cursor:
            for sql in trigger_statements() if "feed_feedclock" in tables else drop_statements():
                cursor.execute(sql)


class FeedConfig(AppConfig):
    name = "entraide.feed"
    label = "feed"
    verbose_name = "Feed"

    def ready(self) -> None:
        # The feed clock's triggers (feed/clock.py) stand after every `migrate`, whichever migrations ran.
        pre_migrate.connect(_drop_clock_triggers, sender=self, dispatch_uid="feed_clock_drop")
        post_migrate.connect(_create_clock_triggers, sender=self, dispatch_uid="feed_clock_create")
