from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingsConfig(AppConfig):
    name = "bookings"
    verbose_name = _("Bookings")

    def ready(self) -> None:
        from . import pagecache
        from .models import (
            Blackout,
            Booking,
            BookingItem,
            Equipment,
            PlanItem,
            SetPhoto,
            ShootPlan,
            StudioSet,
        )

        pagecache.watch(
            pagecache.CATALOGUE,
            StudioSet,
            SetPhoto,
            Equipment,
            Blackout,
            Booking,
            BookingItem,
            ShootPlan,
            PlanItem,
        )
