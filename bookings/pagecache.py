"""Rendered fragments of the public catalogue pages, kept in the shared cache.

Most of the time of a catalogue page (the set list, a set's calendar, the
equipment check, the workshops) went to rendering the same HTML again for
every visitor. The part of such a page that is the same for everyone is
rendered once per language, day and query, and kept together with the
*versions* of what it shows at the time (read with it in one round trip):

- ``CATALOGUE``: sets, their photos, equipment, blackouts and bookings (and
  their equipment lines), which decide what is free;
- ``WORKSHOPS``: workshops, sessions and enrolments, which decide the places left.

Every save or delete of such a row bumps its version (signals, connected by
``watch`` in each app's ``ready``), and so does ``history.record``, which every bulk
``update()`` path goes through (``history.update_recorded``); a fragment kept at
an older version is not used, so a page never shows one from before a change.
The version is bumped at once (so the same request or test sees the change) and
again when the transaction commits (so a page rendered from the old rows
between the two is not kept under the new version).

What must never be cached into a fragment: the CSRF token, messages, anything
about the visitor beyond what ``vary_on`` names (the ``{% pagecache %}`` tag
takes e.g. whether the visitor has a crew). If the cache cannot be reached, or
is not shared by every app process (settings.PAGE_CACHE), the page is rendered
as if nothing were cached.
"""

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

CATALOGUE = "catalogue"
WORKSHOPS = "workshops"
SCOPES = (CATALOGUE, WORKSHOPS)

# A fragment is rebuilt at least this often whatever happens, so a change no
# signal saw (a raw SQL fix in the shell) shows within minutes.
TIMEOUT = 10 * 60

# The models whose rows each scope shows, filled by each app's ``ready()`` with ``watch``.
_SCOPE_OF: dict[type[models.Model], set[str]] = {}


def _version_key(scope: str) -> str:
    return f"pagecache:version:{scope}"


def scopes_of(model: type[models.Model]) -> set[str]:
    return _SCOPE_OF.get(model, set())


def _bump_now(scopes: Iterable[str]) -> None:
    for scope in scopes:
        key = _version_key(scope)
        try:
            try:
                cache.incr(key)
            except ValueError:  # not there (yet, or evicted): any new value is a new version
                cache.set(key, time.time_ns(), None)
        except Exception:  # the cache is down: pages are rendered uncached meanwhile
            logger.warning("Could not bump the page cache version of %s", scope, exc_info=True)


def bump(*scopes: str) -> None:
    """Make every cached fragment of ``scopes`` stale, now and when the transaction commits."""
    _bump_now(scopes)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump_now(scopes))


def rows_changed(model: type[models.Model]) -> None:
    """Rows of ``model`` were written or deleted: the fragments showing them are stale."""
    scopes = scopes_of(model)
    if scopes:
        bump(*sorted(scopes))


def _on_row_changed(sender, **kwargs) -> None:
    rows_changed(sender)


def watch(scope: str, *watched: type[models.Model]) -> None:
    """Fragments of ``scope`` show rows of ``watched``: a save or delete of one makes them stale."""
    assert scope in SCOPES, scope
    for model in watched:
        _SCOPE_OF.setdefault(model, set()).add(scope)
        uid = f"pagecache:{model._meta.label}"
        models.signals.post_save.connect(_on_row_changed, sender=model, dispatch_uid=uid + ":save")
        models.signals.post_delete.connect(_on_row_changed, sender=model, dispatch_uid=uid + ":delete")


@dataclass(frozen=True)
class Lookup:
    """What the cache held for one fragment: its key, the versions now, and the HTML if it is current."""

    key: str
    versions: tuple[int, ...]
    html: str | None


def fragment_key(name: str, scopes: list[str], vary_on: Iterable[object]) -> str:
    """The cache key of fragment ``name`` for these ``vary_on`` values, the active language and
    the studio's date (what is past, and what is free, changes at midnight); with
    ``WORKSHOPS``, the minute as well."""
    parts = [translation.get_language() or "", timezone.localdate().isoformat(), *map(str, vary_on)]
    if WORKSHOPS in scopes:
        # Sessions leave the list, and their registration closes, as time passes: a
        # fragment showing them is kept for the minute it was rendered in.
        parts.append(timezone.now().strftime("%Y-%m-%dT%H:%M"))
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"pagecache:fragment:{name}:{digest}"


def lookup(name: str, scopes: list[str], vary_on: Iterable[object]) -> Lookup | None:
    """Fragment ``name`` as cached, read with the versions of ``scopes`` in one round trip;
    None when the cache cannot be reached. The fragment is stored with the versions it was
    rendered at, and is current only while they still are."""
    if not settings.PAGE_CACHE:
        return None
    key = fragment_key(name, scopes, vary_on)
    version_keys = [_version_key(scope) for scope in scopes]
    try:
        found = cache.get_many([key, *version_keys])
        for version_key in version_keys:
            if version_key not in found:
                # add(): two first readers must not give one version two values.
                cache.add(version_key, time.time_ns(), None)
                found[version_key] = cache.get(version_key)
    except Exception:
        logger.warning("The page cache cannot be reached", exc_info=True)
        return None
    versions = tuple(found.get(version_key) for version_key in version_keys)
    if None in versions:
        return None
    stored = found.get(key)
    html = stored[1] if isinstance(stored, tuple) and stored[0] == versions else None
    return Lookup(key, versions, html)


def store(found: Lookup, html: str) -> None:
    try:
        cache.set(found.key, (found.versions, html), TIMEOUT)
    except Exception:
        logger.warning("The page cache cannot be reached", exc_info=True)


# --- Blank forms ------------------------------------------------------------------
#
# A form nobody has filled in yet renders the same for every visitor: its markup depends
# on the form's class, the language and what the caller names (the registration form's
# submit button says "Join the waiting list" once a session is full), and on no row that
# can change while the process runs. Each app process keeps that markup in memory; the
# page around it, and the CSRF token in the page's own <form> tag, are rendered fresh.
# The registration form's two country lists made it 45 ms of CPU to render every time.

_BLANK_FORMS: dict[tuple, str] = {}


def blank_form_html(form, *vary_on: object) -> str:
    """The crispy markup of unbound ``form`` (whose helper has ``form_tag = False``)."""
    from crispy_forms.utils import render_crispy_form

    assert not form.is_bound and not form.helper.form_tag, "only a blank form inside the page's own <form>"
    key = (type(form), translation.get_language(), *vary_on)
    html = _BLANK_FORMS.get(key)
    if html is None:
        html = _BLANK_FORMS[key] = render_crispy_form(form)
    return html
