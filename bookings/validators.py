"""Validators shared by models and forms."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Bidirectional embeddings, overrides and isolates reorder the text after them, so a
# name holding one can display as something else (a file name spelled backwards, another
# crew's name) in the admin, emails and calendars. The plain direction marks (U+200E,
# U+200F, U+061C) and the zero-width joiners stay allowed: names in Arabic, Hebrew,
# Persian and Indic scripts, and emoji sequences, need them.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# Control characters (Unicode category Cc: C0 including tab, LF and CR, DEL, and C1), the
# line and paragraph separators (categories Zl and Zp), and the direction controls above.
_NOT_ONE_LINE = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]+")


def validate_single_line(value: str) -> None:
    """A name is one line of visible text: it is shown in headers, calendars and lists."""
    found = _NOT_ONE_LINE.search(value)
    if found:
        raise ValidationError(
            _(
                "Enter this on one line: line breaks, tabs and other invisible control characters "
                "(here %(character)s) are not allowed."
            ),
            code="not_one_line",
            params={"character": f"U+{ord(found.group()[0]):04X}"},
        )


def one_line(value: str) -> str:
    """``value`` with each run of the characters ``validate_single_line`` refuses made one space.

    For names saved before they were validated, where a line break would break a
    calendar file or a header.
    """
    if not _NOT_ONE_LINE.search(value):
        return value
    return " ".join(_NOT_ONE_LINE.sub(" ", value).split())
