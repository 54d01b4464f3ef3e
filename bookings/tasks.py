from celery import shared_task
from django.utils import timezone

from workshops import services as workshop_services

from . import notifications, services


@shared_task
def sweep() -> dict[str, int]:
    """Beat runs this every minute; running it twice, or twice at once, is harmless.

    Re-queues the outbox rows that are due first, so the messages queued
    below (which are sent on commit) are not queued twice in one run.
    """
    now = timezone.now()
    requeued = notifications.notification_requeue_due(now=now)
    expired = services.booking_expire_stale_holds(now=now)
    reminders = services.booking_reminders_queue_due(
        now=now
    ) + workshop_services.enrolment_reminders_queue_due(now=now)
    return {"requeued": requeued, "expired": len(expired), "reminders": reminders}


@shared_task
def complete_finished_bookings() -> int:
    return services.booking_complete_finished()


# No Celery autoretry here: a failed send is rescheduled on the row itself
# (next_attempt_at) and re-queued by the sweep, and the claim in
# notification_send makes a duplicate or redelivered task a no-op.
@shared_task(acks_late=True)
def send_notification(notification_id: int) -> bool:
    return notifications.notification_send(notification_id=notification_id)
