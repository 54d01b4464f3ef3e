from celery import shared_task

from . import notifications

# The periodic sweep, which spans bookings and workshops, is project wiring: hengdian/tasks.py.


# No Celery autoretry here: a failed send is rescheduled on the row itself
# (next_attempt_at) and re-queued by the sweep, and the claim in
# notification_send makes a duplicate or redelivered task a no-op.
@shared_task(acks_late=True)
def send_notification(notification_id: int) -> bool:
    return notifications.notification_send(notification_id=notification_id)
