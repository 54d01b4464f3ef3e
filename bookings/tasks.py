from celery import shared_task

from . import emails, services


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
