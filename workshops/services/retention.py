"""Passport data is kept only while it is needed: deleted, with the letters' PDF files, a while
after the session ends (``PASSPORT_RETENTION_DAYS``) or after the place is cancelled
(``PASSPORT_RETENTION_CANCELLED_DAYS``). The enrolment and its letters' rows stay, as the record
that a letter was issued, when and by whom.

Files are deleted only once the transaction that empties their fields has committed, so a purge
that rolls back loses nothing; a file left behind (by a crash, or by a letter whose transaction
rolled back after its file was written) is found by :func:`letter_files_orphaned_delete`.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from bookings import history

from ..models import PASSPORT_FIELDS, Enrolment, InvitationLetter, private_storage

logger = logging.getLogger(__name__)

LETTERS_FOLDER = "letters"
# A letter's file is written a moment before its row commits: younger files are left alone.
ORPHAN_GRACE = timedelta(days=1)
BATCH = 500


def _holding_passport_data():
    stored_letter = InvitationLetter.objects.filter(enrolment=OuterRef("pk")).exclude(pdf="")
    return (
        ~Q(passport_number="")
        | Q(passport_expiry__isnull=False)
        | Q(date_of_birth__isnull=False)
        | Exists(stored_letter)
    )


def _due(now: datetime):
    cancelled = Enrolment.Status.CANCELLED
    return Q(
        status=cancelled, cancelled_at__lte=now - timedelta(days=settings.PASSPORT_RETENTION_CANCELLED_DAYS)
    ) | (
        ~Q(status=cancelled) & Q(session__ends_at__lte=now - timedelta(days=settings.PASSPORT_RETENTION_DAYS))
    )


def _delete_files(names: list[str]) -> None:
    storage = private_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # left for the orphan sweep
            logger.warning("Could not delete the letter file %s; the orphan sweep will retry.", name)


def passport_data_purge_due(*, now: datetime | None = None) -> list[int]:
    """Delete the passport data that is due; returns the enrolments purged. Run every hour.

    Each enrolment in its own transaction, under its lock and looked at again there.
    """
    now = now or timezone.now()
    due = list(
        Enrolment.objects.filter(_due(now), _holding_passport_data())
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    purged = []
    for pk in due:
        with transaction.atomic():
            enrolment = (
                Enrolment.objects.select_for_update(of=("self",))
                .filter(_due(now), _holding_passport_data(), pk=pk)
                .first()
            )
            if enrolment is None:
                continue
            letters = enrolment.letters.exclude(pdf="")
            names = list(letters.values_list("pdf", flat=True))
            letters.update(pdf="")
            for name in PASSPORT_FIELDS:
                setattr(enrolment, name, "" if name == "passport_number" else None)
            enrolment.letter_reissue_requested_at = None
            enrolment.passport_purged_at = now
            history.note(enrolment, by=None, reason=history.PASSPORT_PURGED)
            enrolment.save(
                update_fields=[
                    *PASSPORT_FIELDS,
                    "letter_reissue_requested_at",
                    "passport_purged_at",
                    "updated_at",
                ]
            )
            transaction.on_commit(lambda names=names: _delete_files(names))
            purged.append(pk)
    return purged


def letter_files_orphaned_delete(*, now: datetime | None = None) -> list[str]:
    """Delete letter files no letter refers to (older than a day); returns their names."""
    now = now or timezone.now()
    storage = private_storage()
    try:
        years, _files = storage.listdir(LETTERS_FOLDER)
    except FileNotFoundError:
        return []
    referenced = set(InvitationLetter.objects.exclude(pdf="").values_list("pdf", flat=True))
    deleted = []
    for year in years:
        _dirs, files = storage.listdir(f"{LETTERS_FOLDER}/{year}")
        for file in files:
            name = f"{LETTERS_FOLDER}/{year}/{file}"
            if name in referenced or storage.get_modified_time(name) > now - ORPHAN_GRACE:
                continue
            # Looked up again: a letter may have been saved since the list was read.
            if not InvitationLetter.objects.filter(pdf=name).exists():
                storage.delete(name)
                deleted.append(name)
    return deleted
