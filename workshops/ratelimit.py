"""A fixed-window request counter per client address, kept in the shared cache."""

import logging
import time

from django.core.cache import cache
from django.http import HttpRequest

from hengdian.clientip import client_ip

logger = logging.getLogger(__name__)


def rate_limit_hit(request: HttpRequest, *, scope: str, rate: tuple[int, int]) -> bool:
    """Count this request; True when the address has gone over ``rate`` (count, seconds)."""
    allowed, period = rate
    window = int(time.time() // period)
    address = client_ip(request) or "unknown"
    key = f"ratelimit:{scope}:{address}:{window}"
    try:
        cache.add(key, 0, timeout=period + 1)
        hits = cache.incr(key)
    except Exception:
        # A cache outage must not stop people registering: fail open, loudly.
        logger.exception("Rate-limit cache unavailable; %s not limited", scope)
        return False
    return hits > allowed
