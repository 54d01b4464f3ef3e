"""The Celery app: configured from the CELERY_* settings, tasks found in each app's tasks.py.

Run one or more workers and exactly one beat (the schedule is
CELERY_BEAT_SCHEDULE in settings), e.g.::

    celery -A hengdian worker --loglevel INFO --concurrency 4
    celery -A hengdian beat --loglevel INFO

Tasks are acknowledged late and must be idempotent (see bookings.notifications).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hengdian.settings")

app = Celery("hengdian")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
