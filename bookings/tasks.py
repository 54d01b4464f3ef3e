from celery import shared_task

from . import emails, notifications, services


@shared_task(acks_late=True, max_retries=6, autoretry_for=(OSError,), retry_backoff=True)
def send_member_invitation(user_id: int, invited_by_id: int) -> None:
    emails.member_invitation_send(user_id=user_id, invited_by_id=invited_by_id)


@shared_task
def expire_stale_holds() -> int:
    """Free the sets and equipment of requests nobody confirmed in time."""
    return len(services.booking_expire_stale_holds())


@shared_task
def complete_finished_bookings() -> int:
    return services.booking_complete_finished()


# No Celery autoretry here: a failed send is rescheduled on the row itself
# (next_attempt_at) and re-queued by the sweep, and the claim in
# notification_send makes a duplicate or redelivered task a no-op.
@shared_task(acks_late=True)
def send_notification(notification_id: int) -> bool:
    return notifications.notification_send(notification_id=notification_id)


@shared_task
def requeue_due_notifications() -> int:
    """Queue the outbox rows that are due: retries, and rows a dead worker left in sending."""
    return notifications.notification_requeue_due()
