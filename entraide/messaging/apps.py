from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "entraide.messaging"
    label = "messaging"
    verbose_name = _("Conversations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from entraide.core.events import event_published

        from .subscribers import on_event

        event_published.connect(on_event, dispatch_uid="messaging.subscribers")
