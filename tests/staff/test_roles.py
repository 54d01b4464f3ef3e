"""The studio's roles: each staff member sees and does exactly what their role allows.

Passport numbers, dates of birth, letters and participants' private links are
the visa officer's alone; everyone else sees a masked number.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils.formats import date_format

from bookings.models import Booking, Notification, StudioSet, User
from hengdian import roles
from hengdian.roles import BOOKING_DESK, EQUIPMENT_STORE, ROLES, VIEWER, VISA_OFFICER, WORKSHOP_DESK
from workshops import services as workshop_services
from workshops.models import Enrolment

from ..auth import login_staff
from ..factories import (
    CrewOwnerFactory,
    EnrolmentFactory,
    StaffFactory,
    StaffMemberFactory,
    StudioSetFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def codes(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


def as_role(client, *role_names: str):
    return login_staff(client, StaffMemberFactory(roles=list(role_names)))


@pytest.fixture
def enrolment_with_letter():
    enrolment = EnrolmentFactory(passport_number="E12345678")
    workshop_services.invitation_letter_issue(enrolment=enrolment, by=StaffFactory())
    return enrolment


# --- The roles themselves ---------------------------------------------------------


def test_each_role_is_a_group_with_exactly_its_permissions():
    for name, permissions in ROLES.items():
        assert codes(Group.objects.get(name=name)) == set(permissions)
    assert set(ROLES) == {BOOKING_DESK, WORKSHOP_DESK, VISA_OFFICER, VIEWER, EQUIPMENT_STORE}


def test_syncing_again_changes_nothing_and_undoes_hand_edits():
    desk = Group.objects.get(name=WORKSHOP_DESK)
    desk.permissions.add(Permission.objects.get(codename="view_passport_data"))
    Group.objects.get(name=VIEWER).delete()

    roles.sync_roles()
    roles.sync_roles()

    assert Group.objects.filter(name__in=ROLES).count() == len(ROLES)
    assert "workshops.view_passport_data" not in codes(Group.objects.get(name=WORKSHOP_DESK))
    assert codes(Group.objects.get(name=VIEWER)) == set(ROLES[VIEWER])


def test_only_the_visa_officer_holds_passport_data():
    holders = [name for name, permissions in ROLES.items() if "workshops.view_passport_data" in permissions]
    assert holders == [VISA_OFFICER]


# --- Passport data and private links -------------------------------------------------


@pytest.mark.parametrize("role", [WORKSHOP_DESK, VIEWER])
def test_other_roles_see_the_enrolment_with_the_passport_number_masked(client, role, enrolment_with_letter):
    enrolment = enrolment_with_letter
    as_role(client, role)

    page = client.get(reverse("admin:workshops_enrolment_change", args=[enrolment.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert enrolment.full_name in html
    assert "•••" in html and "678" in html  # the masked number
    assert "E12345678" not in html
    assert enrolment.manage_token not in html
    assert date_format(enrolment.date_of_birth) not in html
    assert str(enrolment.date_of_birth) not in html
    assert str(enrolment.passport_expiry) not in html
    assert "letter.pdf" not in html and "/pdf/" not in html
    letter = enrolment.letters.get()
    assert client.get(reverse("admin:workshops_invitationletter_pdf", args=[letter.pk])).status_code == 403


def test_the_workshop_desk_can_correct_a_name_without_touching_passport_data(client, enrolment_with_letter):
    enrolment = enrolment_with_letter
    as_role(client, WORKSHOP_DESK)
    url = reverse("admin:workshops_enrolment_change", args=[enrolment.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    assert not {"passport_number", "date_of_birth", "passport_expiry", "needs_visa_letter"} & set(data)
    # Posting passport fields anyway changes nothing: they are not part of the form.
    data.update(full_name="Corrected Name", passport_number="X0000000", needs_visa_letter="")
    data.update(
        {
            f"{prefix}-{key}": "0"
            for prefix in ("payments", "letters", "notifications")
            for key in ("TOTAL_FORMS", "INITIAL_FORMS")
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    enrolment.refresh_from_db()
    assert enrolment.full_name == "Corrected Name"
    assert enrolment.passport_number == "E12345678"
    assert enrolment.needs_visa_letter


def test_the_visa_officer_sees_passport_data_the_private_link_and_the_letter(client, enrolment_with_letter):
    enrolment = enrolment_with_letter
    as_role(client, VISA_OFFICER)

    html = client.get(reverse("admin:workshops_enrolment_change", args=[enrolment.pk])).content.decode()

    assert "E12345678" in html
    assert enrolment.manage_token in html
    letter = enrolment.letters.get()
    pdf = client.get(reverse("admin:workshops_invitationletter_pdf", args=[letter.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"


def test_places_are_the_workshop_desks_and_letters_the_visa_officers(client):
    changelist = reverse("admin:workshops_enrolment_changelist")
    as_role(client, VISA_OFFICER)
    visa = set(dict(client.get(changelist).context["action_form"].fields["action"].choices))
    as_role(client, WORKSHOP_DESK)
    desk = set(dict(client.get(changelist).context["action_form"].fields["action"].choices))

    assert {"issue_letters", "export_csv_with_passport"} <= visa
    assert not {"cancel_selected", "promote_selected"} & visa
    assert {"cancel_selected", "promote_selected"} <= desk
    assert not {"issue_letters", "reissue_letters", "export_csv_with_passport"} & desk


@pytest.mark.parametrize("who", ["superuser", "visa officer", "workshop desk", "no permissions"])
def test_view_on_site_never_leads_to_a_participants_private_link(client, who, enrolment_with_letter):
    """Found: any staff account could follow /admin/r/<type>/<id>/ to every participant's page and letter."""
    user = {
        "superuser": lambda: StaffFactory(),
        "visa officer": lambda: StaffMemberFactory(roles=[VISA_OFFICER]),
        "workshop desk": lambda: StaffMemberFactory(roles=[WORKSHOP_DESK]),
        "no permissions": lambda: UserFactory(is_staff=True),
    }[who]()
    login_staff(client, user)
    content_type = ContentType.objects.get_for_model(Enrolment)

    response = client.get(f"/admin/r/{content_type.pk}/{enrolment_with_letter.pk}/")

    assert response.status_code == 404
    html = client.get(reverse("admin:workshops_enrolment_change", args=[enrolment_with_letter.pk])).content
    assert b"View on site" not in html


def test_view_on_site_needs_the_view_permission_of_the_model(client):
    studio_set = StudioSetFactory()
    content_type = ContentType.objects.get_for_model(StudioSet)
    url = f"/admin/r/{content_type.pk}/{studio_set.pk}/"

    login_staff(client, UserFactory(is_staff=True))
    assert client.get(url).status_code == 404

    as_role(client, VIEWER)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].endswith(studio_set.get_absolute_url())


def test_view_on_site_with_a_malformed_type_is_a_404(client):
    login_staff(client, StaffFactory())
    assert client.get("/admin/r/abc/1/").status_code == 404
    assert client.get("/admin/r/999999/1/").status_code == 404


@pytest.mark.parametrize(
    ("role", "sees_link"), [(WORKSHOP_DESK, False), (BOOKING_DESK, False), (VISA_OFFICER, True)]
)
def test_the_outbox_shows_private_links_to_the_visa_officer_only(
    client, role, sees_link, enrolment_with_letter
):
    notification = Notification.objects.filter(enrolment=enrolment_with_letter).first()
    assert enrolment_with_letter.manage_token in notification.body_text + notification.body_html
    as_role(client, role)

    page = client.get(reverse("admin:bookings_notification_change", args=[notification.pk]))
    body = client.get(reverse("admin:bookings_notification_body", args=[notification.pk]))

    assert page.status_code == body.status_code == 200
    for content in (page.content.decode(), body.content.decode()):
        assert (enrolment_with_letter.manage_token in content) is sees_link
        assert ("[private link hidden]" in content) is not sees_link


# --- The booking desk and accounts ----------------------------------------------------


def test_the_booking_desk_sees_crew_members_but_not_staff_accounts(client):
    member = CrewOwnerFactory()
    superuser = StaffFactory()
    as_role(client, BOOKING_DESK)

    listing = client.get(reverse("admin:bookings_user_changelist"))

    emails = {u.email for u in listing.context["cl"].result_list}
    assert member.email in emails
    assert superuser.email not in emails
    response = client.get(reverse("admin:bookings_user_change", args=[superuser.pk]))
    assert response.status_code == 302  # "does not exist", back to the index
    assert client.get(reverse("admin:bookings_user_add")).status_code == 403


def test_the_booking_desk_cannot_grant_access_or_take_over_an_account(client):
    member = CrewOwnerFactory()
    desk = StaffMemberFactory(roles=[BOOKING_DESK])
    login_staff(client, desk)
    url = reverse("admin:bookings_user_change", args=[member.pk])
    form = client.get(url).context["adminform"].form
    assert not {"is_staff", "is_superuser", "groups", "user_permissions", "password", "email", "crew"} & set(
        form.fields
    )

    response = client.post(
        url,
        {
            "first_name": "Renamed",
            "last_name": "",
            "language": "en",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "email": "attacker@example.com",
            "groups": [Group.objects.get(name=VISA_OFFICER).pk],
        },
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.first_name == "Renamed"
    assert (member.is_staff, member.is_superuser, member.email.startswith("person")) == (False, False, True)
    assert not member.groups.exists()
    password = client.get(reverse("admin:auth_user_password_change", args=[member.pk]))
    assert password.status_code == 403


def test_a_viewer_reads_reports_but_decides_nothing(client):
    owner = CrewOwnerFactory()
    booking = Booking.objects.create(
        plan_id=owner.crew.plans.create(created_by=owner).pk,
        crew=owner.crew,
        studio_set=StudioSetFactory(),
        start_date="2030-01-01",
        end_date="2030-01-02",
        blocked_until="2030-01-02",
        quote_total=1,
        created_by=owner,
    )
    as_role(client, VIEWER)
    changelist = reverse("admin:bookings_booking_changelist")

    assert client.get(changelist).status_code == 200
    assert client.get(reverse("admin:bookings_booking_occupancy")).status_code == 200
    assert client.get(changelist).context["action_form"] is None  # no action to offer
    client.post(changelist, {"action": "cancel_selected", "_selected_action": [booking.pk]})
    booking.refresh_from_db()
    assert booking.status == Booking.Status.REQUESTED
    assert client.get(reverse("admin:bookings_notification_changelist")).status_code == 403
    assert client.get(reverse("admin:bookings_user_changelist")).status_code == 403


def test_user_model_is_ours():
    assert User._meta.label == "bookings.User"
