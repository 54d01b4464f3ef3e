"""Who changed a tracked row, and why: the services' side of django-simple-history.

Every save of a tracked model (bookings, their equipment lines, plans, sets,
equipment, blackouts, sessions, enrolments) writes a historical row. Inside a
request, simple-history's middleware fills in the request's user; a service
says it explicitly with ``note`` before it saves, so a Celery task or a sweep
is recorded as the system (``by=None``), not as whoever happened to be logged
in. ``QuerySet.update()`` and ``bulk_create()`` send no signals, so the
services that use them record the rows with ``update_recorded`` or ``record``.

System reasons are stored as English text and translated when shown (see
``reason_display``): the same history reads in each reader's language.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import models, transaction
from django.utils.translation import gettext, gettext_noop

from . import pagecache

# Reasons the system gives; stored untranslated, shown with reason_display().
HOLD_EXPIRED = gettext_noop("The hold ran out before the booking desk confirmed it.")
SHOOT_FINISHED = gettext_noop("The last shoot day has passed.")
PROMOTED = gettext_noop("A place became free on the waiting list.")
OFFERED = gettext_noop("A place became free and was offered to the first person waiting.")
OFFER_ACCEPTED = gettext_noop("The participant accepted the place offered.")
SESSION_DATES_CHANGED = gettext_noop("The session's dates changed: the letter names the old ones.")
OFFER_LAPSED = gettext_noop("The place offered was not accepted in time.")
SESSION_CALLED_OFF = gettext_noop("The studio called the session off.")
LETTER_ISSUED = gettext_noop("A new invitation letter was issued.")
FEE_PAID = gettext_noop("The fee was paid in full.")
FEE_REFUNDED = gettext_noop("Part of the fee was paid back, so it is no longer paid in full.")
PASSPORT_PURGED = gettext_noop("The passport data was deleted under the retention rule.")
RELEASED_UNPAID = gettext_noop("The fee was not paid by its deadline, so the place was released.")
PRIVATE_LINK = gettext_noop("Changed with the participant's private link.")
CHANGE_REPLACED = gettext_noop("A newer change replaced it.")
CHANGE_LAPSED = gettext_noop("The booking desk did not decide before the day it was for.")


def note(
    obj: models.Model, *, by: models.Model | None, reason: str = "", when: datetime | None = None
) -> None:
    """Say who makes the next save of ``obj`` and why; ``by=None`` is the system.

    Call it right before ``obj.save()``. An explicit ``None`` wins over the
    request's user, so work a request triggers on the system's behalf is not
    pinned on the person who happened to click. ``when`` dates the change
    (rows saved together as one change share it); the default is the moment of saving.
    """
    obj._history_user = by
    obj._change_reason = reason
    if when is not None:
        obj._history_date = when
    elif hasattr(obj, "_history_date"):
        del obj._history_date


def record(
    objs: Iterable[models.Model], *, by: models.Model | None, reason: str = "", created: bool = False
) -> int:
    """Write one historical row per object for rows saved without signals (``bulk_create``, ``update()``).

    The objects must hold the values now in the database. Returns how many rows were recorded.
    """
    objs = list(objs)
    if not objs:
        return 0
    for obj in objs:
        note(obj, by=by, reason=reason)
    # Rows saved without signals: the cached pages showing them must learn of it here.
    pagecache.rows_changed(type(objs[0]))
    manager = type(objs[0]).history
    manager.bulk_history_create(objs, update=not created, default_user=by, default_change_reason=reason)
    return len(objs)


def update_recorded(
    queryset: models.QuerySet, *, by: models.Model | None, reason: str = "", **values
) -> list[int]:
    """``queryset.update(**values)``, with a historical row for each row it changed; returns their ids.

    The rows are locked in primary-key order first (skipping rows another
    transaction holds, as the sweeps do), so what is recorded is what was written.
    """
    with transaction.atomic():
        ids = list(queryset.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True))
        if not ids:
            return []
        model = queryset.model
        model._default_manager.filter(pk__in=ids).update(**values)
        record(model._default_manager.filter(pk__in=ids).order_by("pk"), by=by, reason=reason)
    return ids


def reason_display(reason: str | None) -> str:
    """A stored reason in the reader's language: the system's are translated, people's shown as written."""
    return gettext(reason) if reason else ""


def who_display(user) -> str:
    """The name staff see for a historical row's author."""
    return str(user) if user is not None else gettext("System")
