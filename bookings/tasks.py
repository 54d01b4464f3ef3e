from celery import shared_task

from . import emails


@shared_task(acks_late=True, max_retries=6, autoretry_for=(OSError,), retry_backoff=True)
def send_member_invitation(user_id: int, invited_by_id: int) -> None:
    emails.member_invitation_send(user_id=user_id, invited_by_id=invited_by_id)
