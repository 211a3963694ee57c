from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "entraide.live"
    label = "live"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from entraide.accounts.models import Member
        from entraide.core.events import event_published

        from .subscribers import on_event, on_reads_nearby_changed

        event_published.connect(on_event, dispatch_uid="live.subscribers")
        m2m_changed.connect(on_reads_nearby_changed, sender=Member.reads_nearby.through,
                            dispatch_uid="live.reads_nearby")
