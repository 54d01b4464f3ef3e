"""Operations on enrolments, invitation letters and workshop fees. Views, the admin and tasks all call these.

One module per concept, all importable from here: :mod:`.enrolments` (places, the waiting list,
letters, reminders), :mod:`.payments` (fees paid and refunded, unpaid places released) and
:mod:`.retention` (passport data deleted on time), :mod:`.checkin` (the door) and
:mod:`.certificates` (of attendance).
"""

from .certificates import certificates_issue_due, days_needed
from .checkin import CheckIn, checkin_record, checkin_when, session_days
from .enrolments import (
    NOTICE,
    PARTICIPANT_LINK_ACCOUNT,
    EnrolmentError,
    Registration,
    enrolment_cancel,
    enrolment_offer_accept,
    enrolment_offers_lapse_due,
    enrolment_promote,
    enrolment_register,
    enrolment_reminders_queue_due,
    enrolment_update,
    invitation_letter_issue,
    participant_link_account,
    session_cancel,
    session_changes_announce,
    session_confirmed_count_locked,
    session_fill_from_waiting_list,
    visa_too_late,
)
from .payments import (
    PlacePaymentRecorded,
    enrolment_for_payment_reference,
    place_payment_record,
    place_payment_reminders_queue_due,
    place_release_unpaid,
)
from .retention import letter_files_orphaned_delete, passport_data_purge_due

__all__ = [
    "NOTICE",
    "PARTICIPANT_LINK_ACCOUNT",
    "CheckIn",
    "EnrolmentError",
    "PlacePaymentRecorded",
    "Registration",
    "certificates_issue_due",
    "checkin_record",
    "checkin_when",
    "days_needed",
    "enrolment_cancel",
    "enrolment_for_payment_reference",
    "enrolment_offer_accept",
    "enrolment_offers_lapse_due",
    "enrolment_promote",
    "enrolment_register",
    "enrolment_reminders_queue_due",
    "enrolment_update",
    "invitation_letter_issue",
    "letter_files_orphaned_delete",
    "participant_link_account",
    "passport_data_purge_due",
    "place_payment_record",
    "place_payment_reminders_queue_due",
    "place_release_unpaid",
    "session_cancel",
    "session_changes_announce",
    "session_confirmed_count_locked",
    "session_days",
    "session_fill_from_waiting_list",
    "visa_too_late",
]
