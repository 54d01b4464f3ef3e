"""The periodic work that spans both apps: project wiring, so neither app imports the other's.

``bookings`` never imports ``workshops``; ``workshops`` uses ``bookings`` (accounts, the outbox).
The sweep needs both, so it lives here and calls each app's services.
"""

from celery import shared_task
from django.utils import timezone

from bookings import notifications
from bookings import services as booking_services
from workshops import services as workshop_services


@shared_task
def sweep() -> dict[str, int]:
    """Beat runs this every minute; running it twice, or twice at once, is harmless.

    Re-queues the outbox rows that are due first, so the messages queued
    below (which are sent on commit) are not queued twice in one run.
    """
    now = timezone.now()
    requeued = notifications.notification_requeue_due(now=now)
    expired = booking_services.booking_expire_stale_holds(now=now)
    lapsed = booking_services.booking_changes_lapse_undecided(now=now)
    reminders = booking_services.booking_reminders_queue_due(
        now=now
    ) + workshop_services.enrolment_reminders_queue_due(now=now)
    overdue = booking_services.store_overdue_queue_due(now=now)
    payments = booking_services.invoice_reminders_queue_due(
        now=now
    ) + workshop_services.place_payment_reminders_queue_due(now=now)
    released = workshop_services.place_release_unpaid(now=now)
    lapsed_offers = workshop_services.enrolment_offers_lapse_due(now=now)
    unpaid_deposits = booking_services.plan_cancel_unpaid_deposits(now=now)
    certificates = workshop_services.certificates_issue_due(now=now)
    return {
        "requeued": requeued,
        "expired": len(expired),
        "lapsed": len(lapsed),
        "reminders": reminders,
        "overdue": overdue,
        "payments": payments,
        "released": len(released),
        "lapsed_offers": len(lapsed_offers),
        "unpaid_deposits": len(unpaid_deposits),
        "certificates": len(certificates),
    }


@shared_task
def complete_finished_bookings() -> int:
    return booking_services.booking_complete_finished()


@shared_task
def purge_passport_data() -> dict[str, int]:
    """Hourly: passport data past its retention, and letter files no letter refers to."""
    return {
        "purged": len(workshop_services.passport_data_purge_due()),
        "orphan_files": len(workshop_services.letter_files_orphaned_delete()),
    }
