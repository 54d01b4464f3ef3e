from celery import shared_task

from . import emails


@shared_task(acks_late=True, max_retries=6, autoretry_for=(OSError,), retry_backoff=True)
def send_enrolment_email(enrolment_id: int, kind: str) -> None:
    emails.enrolment_email_send(enrolment_id=enrolment_id, kind=kind)
