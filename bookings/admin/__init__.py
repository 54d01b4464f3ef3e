"""The studio's admin for the bookings app, one module per concept.

Importing the package registers every model admin: :mod:`.accounts` (users, crews, the
lock-out lists), :mod:`.catalogue` (sets, equipment, blackouts), :mod:`.bookings` (bookings,
shoot plans, occupancy, export), :mod:`.outbox` (the email outbox), :mod:`.invoices` and :mod:`.store`
(tagged units, the store's counter page). :mod:`.base` and
:mod:`.history` (every change's History page) hold what they, and the workshops' admin, share.
"""

from .accounts import ACCESS_FIELDS, CrewAdmin, CrewMemberAdminForm, MemberInline, UserAdmin
from .base import (
    FORMULA_PREFIXES,
    PRIVATE_LINKS_PERMISSION,
    STUDIO_TZ,
    BoundedDateChangeList,
    BoundedDateHierarchyMixin,
    ReadOnlyInline,
    RecordOnlyAdmin,
    csv_safe,
    money_field,
    studio_today,
)
from .bookings import (
    BookingAdmin,
    BookingExportForm,
    BookingItemInline,
    BookingNotificationInline,
    OccupancyWindowForm,
    PlanBookingInline,
    ShootPlanAdmin,
)
from .catalogue import (
    BlackoutAdmin,
    BlackoutAdminForm,
    EquipmentAdmin,
    EquipmentAdminForm,
    SetPhotoInline,
    StudioSetAdmin,
)
from .history import HistoryAdminMixin
from .invoices import FapiaoRequestAdmin, InvoiceAdmin, MoneyEntryForm, PaymentAdmin
from .outbox import NotificationAdmin
from .store import CheckOutForm, EquipmentUnitAdmin, HandoverAdmin, ReturnForm

__all__ = [
    "ACCESS_FIELDS",
    "FORMULA_PREFIXES",
    "PRIVATE_LINKS_PERMISSION",
    "STUDIO_TZ",
    "BlackoutAdmin",
    "BlackoutAdminForm",
    "BookingAdmin",
    "BookingExportForm",
    "BookingItemInline",
    "BookingNotificationInline",
    "BoundedDateChangeList",
    "BoundedDateHierarchyMixin",
    "CheckOutForm",
    "CrewAdmin",
    "CrewMemberAdminForm",
    "EquipmentAdmin",
    "EquipmentAdminForm",
    "EquipmentUnitAdmin",
    "FapiaoRequestAdmin",
    "HandoverAdmin",
    "HistoryAdminMixin",
    "InvoiceAdmin",
    "MemberInline",
    "MoneyEntryForm",
    "NotificationAdmin",
    "OccupancyWindowForm",
    "PaymentAdmin",
    "PlanBookingInline",
    "ReadOnlyInline",
    "RecordOnlyAdmin",
    "ReturnForm",
    "SetPhotoInline",
    "ShootPlanAdmin",
    "StudioSetAdmin",
    "UserAdmin",
    "csv_safe",
    "money_field",
    "studio_today",
]
