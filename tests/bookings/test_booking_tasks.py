from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from bookings import services
from bookings.models import Booking
from hengdian import tasks

from ..factories import StudioSetFactory
from .test_booking_request import days_from_now


@pytest.mark.django_db
def test_periodic_tasks_expire_holds_and_complete_finished_shoots(crew_owner, staff_admin, settings):
    held = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(5, 2), by=crew_owner
    )
    shot = services.booking_request(
        crew=crew_owner.crew, studio_set=StudioSetFactory(), days=days_from_now(0, 1), by=crew_owner
    )
    services.booking_confirm(booking=shot, by=staff_admin)

    assert tasks.sweep.delay().get()["expired"] == 0
    with time_machine.travel(timezone.now() + timedelta(hours=settings.BOOKING_HOLD_HOURS + 1)):
        assert tasks.sweep.delay().get()["expired"] == 1
        assert tasks.complete_finished_bookings.delay().get() == 1

    held.refresh_from_db()
    shot.refresh_from_db()
    assert (held.status, shot.status) == (Booking.Status.EXPIRED, Booking.Status.COMPLETED)


def test_the_sweeps_are_on_the_beat_schedule(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"hengdian.tasks.sweep", "hengdian.tasks.complete_finished_bookings"} <= tasks_scheduled
    assert settings.CELERY_BEAT_SCHEDULE["sweep"]["schedule"] == 60.0  # reminders are due to the minute
