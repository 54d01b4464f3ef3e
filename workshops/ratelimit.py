"""A fixed-window request counter per client address, kept in the shared cache.

When the shared cache (Redis) does not answer, the counting goes on in this
process's memory instead of stopping. Failing closed would refuse every
registration during a cache outage, although registering needs only the
database; failing open (as this did) would switch the limit off exactly when
the site is under strain. Per process, a client gets at most the limit times
the number of web processes: still a limit, and nobody else is turned away.
"""

import logging
import time

from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest

from hengdian.clientip import client_ip

logger = logging.getLogger(__name__)

# Only used while the shared cache is down; thread-safe, and its keys expire with their window.
process_counts = LocMemCache("workshops-ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


def _count(counter: BaseCache, key: str, period: int) -> int:
    counter.add(key, 0, timeout=period + 1)
    return counter.incr(key)


def rate_limit_hit(request: HttpRequest, *, scope: str, rate: tuple[int, int]) -> bool:
    """Count this request; True when the address has gone over ``rate`` (count, seconds)."""
    allowed, period = rate
    window = int(time.time() // period)
    address = client_ip(request) or "unknown"
    key = f"ratelimit:{scope}:{address}:{window}"
    try:
        hits = _count(cache, key, period)
    except Exception as exc:  # whatever the cache backend raises when its server is gone
        logger.warning("Rate-limit cache unavailable (%s); counting %s in this process", exc, scope)
        hits = _count(process_counts, key, period)
    return hits > allowed
