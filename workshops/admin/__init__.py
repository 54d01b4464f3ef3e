"""The International Business Department's admin, one module per concept.

Importing the package registers every model admin: :mod:`.enrolments` (workshops, sessions,
enrolments and invitation letters), :mod:`.payments` (workshop fees paid and refunded) and
:mod:`.checkin` (the door, and attendance).
"""

from .checkin import AttendanceAdmin, CertificateAdmin
from .enrolments import EnrolmentAdmin, InvitationLetterAdmin, SessionAdmin, WorkshopAdmin
from .payments import PlacePaymentAdmin

__all__ = [
    "AttendanceAdmin",
    "CertificateAdmin",
    "EnrolmentAdmin",
    "InvitationLetterAdmin",
    "PlacePaymentAdmin",
    "SessionAdmin",
    "WorkshopAdmin",
]
