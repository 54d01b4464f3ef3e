"""Saving a new plan or booking under a random reference that may, rarely, be taken already.

A reference is six characters from 31 (887 million codes). With a hundred
thousand bookings a fresh draw repeats an existing one about once in nine
thousand; the unique index refuses it. That refusal is not the crew's
problem and must never read as "those days were just taken": the row is
saved again under a new draw.
"""

import logging
from collections.abc import Callable

from django.db import IntegrityError, models, transaction

logger = logging.getLogger(__name__)

ATTEMPTS = 5


class ReferencesExhausted(Exception):
    """Every draw was taken: the generator is broken, not unlucky (5 repeats in a row)."""


def save_with_fresh_reference(obj: models.Model, *, new_reference: Callable[[], str]) -> None:
    """Insert ``obj``; while its ``reference`` is already used, draw another and try again.

    Each attempt runs in a savepoint, so a refused insert leaves the caller's
    transaction usable. Any other integrity error (an overlap refused by the
    exclusion constraint, a check) is raised as it is, for the caller to explain.
    """
    manager = type(obj)._base_manager
    for _attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                obj.save(force_insert=True)
        except IntegrityError:
            # Read after the refusal: under READ COMMITTED (and SQLite's single writer) a
            # committed holder of the reference is visible now.
            if not manager.filter(reference=obj.reference).exists():
                raise
            logger.warning("Reference collision on a new %s; drawing another.", type(obj).__name__)
            obj.reference = new_reference()
        else:
            return
    raise ReferencesExhausted(f"{ATTEMPTS} references in a row were taken for a new {type(obj).__name__}.")
