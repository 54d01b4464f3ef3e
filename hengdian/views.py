"""Project-level pages: the home page and the health check."""

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bookings.models import Equipment, StudioSet
from workshops.models import Session


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    def fill() -> dict:
        # Only when the cached summary is missing (templates/home.html).
        return {
            "set_count": StudioSet.objects.filter(is_active=True).count(),
            "equipment_count": Equipment.objects.filter(is_active=True).count(),
            "upcoming_sessions": Session.objects.upcoming().select_related("workshop")[:3],
        }

    return render(request, "home.html", {"pagecache_fill": fill})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _broker_ok() -> bool:
    # A short timeout: a load balancer's probe must not hang on a dead Redis.
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False
    finally:
        client.close()


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; Redis being down is reported, not fatal,
    because bookings still work and mail waits in the outbox."""
    database_ok = _database_ok()
    body = {
        "database": "ok" if database_ok else "down",
        "broker": "ok" if _broker_ok() else "down",
    }
    return JsonResponse(body, status=200 if database_ok else 503)
