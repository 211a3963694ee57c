from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "entraide.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from entraide.core.events import event_published

        from . import tasks  # noqa: F401 - registers the jobs and the failure signal in every process
        from .subscribers import on_event

        event_published.connect(on_event, dispatch_uid="notifications.subscribers")
