from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkshopsConfig(AppConfig):
    name = "workshops"
    verbose_name = _("Workshops")

    def ready(self) -> None:
        from bookings import pagecache

        from .models import Enrolment, Session, Workshop

        pagecache.watch(pagecache.WORKSHOPS, Workshop, Session, Enrolment)
