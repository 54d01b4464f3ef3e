"""The studio's staff roles: Django groups holding exactly these model permissions.

A staff account sees and does in the admin only what its roles' permissions
allow (a superuser has everything). Passport data, invitation letters and
participants' private links need ``workshops.view_passport_data``, which only
the visa officer holds.

The groups are created by a data migration and brought back to this
definition after every ``migrate`` (and after a test database is flushed), so
a permission added to a role here, or a group edited by hand, ends up exact.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

BOOKING_DESK = "Booking desk"
WORKSHOP_DESK = "Workshop desk"
VISA_OFFICER = "Visa officer"
VIEWER = "Viewer"
EQUIPMENT_STORE = "Equipment store"


def _perms(app_label: str, model: str, *actions: str) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions]


VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"

ROLES: dict[str, list[str]] = {
    # Catalogue, blackouts, booking decisions (change = confirm / reject /
    # cancel), invoices (read) and the payments received for them (recorded), booking for a crew that phones or walks in (add, which may
    # open a new crew with its owner), crews and their members (names and
    # access only), the outbox.
    BOOKING_DESK: [
        *_perms("bookings", "studioset", VIEW, ADD, CHANGE),
        *_perms("bookings", "setphoto", VIEW, ADD, CHANGE, DELETE),
        *_perms("bookings", "equipment", VIEW, ADD, CHANGE),
        *_perms("bookings", "kitcomponent", VIEW, ADD, CHANGE, DELETE),
        *_perms("bookings", "equipmentunit", VIEW),
        *_perms("bookings", "handover", VIEW),
        *_perms("bookings", "blackout", VIEW, ADD, CHANGE, DELETE),
        *_perms("bookings", "booking", VIEW, ADD, CHANGE),
        *_perms("bookings", "bookingitem", VIEW),
        *_perms("bookings", "shootplan", VIEW),
        *_perms("bookings", "invoice", VIEW),
        *_perms("bookings", "payment", VIEW, ADD),
        *_perms("bookings", "fapiaorequest", VIEW, CHANGE),
        *_perms("bookings", "crew", VIEW, CHANGE),
        *_perms("bookings", "user", VIEW, CHANGE),
        *_perms("bookings", "notification", VIEW, CHANGE),
    ],
    # The equipment store's counter: tagged units (added, labelled, repaired, retired), handing
    # them to crews and taking them back; bookings and crews to read, to know whom to serve.
    EQUIPMENT_STORE: [
        *_perms("bookings", "equipment", VIEW),
        *_perms("bookings", "kitcomponent", VIEW),
        *_perms("bookings", "equipmentunit", VIEW, ADD, CHANGE),
        *_perms("bookings", "handover", VIEW, ADD, CHANGE),
        *_perms("bookings", "blackout", VIEW),
        *_perms("bookings", "booking", VIEW),
        *_perms("bookings", "bookingitem", VIEW),
        *_perms("bookings", "shootplan", VIEW),
        *_perms("bookings", "crew", VIEW),
        *_perms("bookings", "notification", VIEW),
    ],
    # Workshops, sessions and places (enrolling someone by hand included), the fees paid for
    # places (recorded), check-in at the door; enrolments without passport data.
    WORKSHOP_DESK: [
        *_perms("workshops", "workshop", VIEW, ADD, CHANGE),
        *_perms("workshops", "session", VIEW, ADD, CHANGE),
        *_perms("workshops", "enrolment", VIEW, ADD, CHANGE),
        *_perms("workshops", "placepayment", VIEW, ADD),
        *_perms("workshops", "attendance", VIEW, ADD),
        *_perms("workshops", "certificate", VIEW),
        *_perms("workshops", "invitationletter", VIEW),
        *_perms("bookings", "notification", VIEW, CHANGE),
    ],
    # Passport data and invitation letters; may correct a participant's
    # details, but places (cancel, promote) are the workshop desk's.
    VISA_OFFICER: [
        *_perms("workshops", "workshop", VIEW),
        *_perms("workshops", "session", VIEW),
        *_perms("workshops", "enrolment", VIEW, CHANGE),
        "workshops.view_passport_data",
        "workshops.export_passport_data",
        *_perms("workshops", "invitationletter", VIEW, ADD),
        *_perms("bookings", "notification", VIEW),
    ],
    # Read-only reports: the catalogue, bookings with the occupancy overview
    # and export, workshops and enrolments (passport numbers masked).
    VIEWER: [
        *_perms("bookings", "studioset", VIEW),
        *_perms("bookings", "setphoto", VIEW),
        *_perms("bookings", "equipment", VIEW),
        *_perms("bookings", "kitcomponent", VIEW),
        *_perms("bookings", "equipmentunit", VIEW),
        *_perms("bookings", "handover", VIEW),
        *_perms("bookings", "blackout", VIEW),
        *_perms("bookings", "booking", VIEW),
        *_perms("bookings", "bookingitem", VIEW),
        *_perms("bookings", "shootplan", VIEW),
        *_perms("bookings", "invoice", VIEW),
        *_perms("bookings", "payment", VIEW),
        *_perms("bookings", "fapiaorequest", VIEW),
        *_perms("bookings", "crew", VIEW),
        *_perms("workshops", "workshop", VIEW),
        *_perms("workshops", "session", VIEW),
        *_perms("workshops", "enrolment", VIEW),
        *_perms("workshops", "placepayment", VIEW),
        *_perms("workshops", "attendance", VIEW),
        *_perms("workshops", "certificate", VIEW),
        *_perms("workshops", "invitationletter", VIEW),
    ],
}


def sync_roles(apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the role groups and give each exactly its permissions; safe to run again.

    ``apps`` is the historical registry inside a migration, the real one otherwise.
    """
    # Permissions are normally created after all migrations have run; make
    # sure the ones the roles name exist already.
    historical = apps is not global_apps
    for app_config in apps.get_app_configs():
        if historical:
            # Migration-state app configs have no models module, which
            # create_permissions takes as "no models here".
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        if historical:
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            try:
                wanted.append(
                    Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename)
                )
            except Permission.DoesNotExist as exc:
                if historical:
                    # A model a later migration adds: the sync after ``migrate`` gives it.
                    continue
                raise LookupError(
                    f"Role {name!r} names the permission {code!r}, which does not exist."
                ) from exc
        group, _created = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(wanted)


def sync_roles_after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    sync_roles(using=using)
