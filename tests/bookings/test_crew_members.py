import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from bookings.models import User

from ..auth import login_staff

CREW = reverse("bookings:crew")
ADD = reverse("bookings:crew_member_add")


@pytest.mark.django_db
def test_crew_page_lists_own_members_only(client, crew_member, other_crew_member):
    client.force_login(crew_member)
    body = client.get(CREW).content.decode()
    assert crew_member.email in body
    assert crew_member.crew.members.get(crew_role="owner").email in body
    assert other_crew_member.email not in body
    assert other_crew_member.crew.name not in body


@pytest.mark.django_db
def test_crew_page_needs_login_and_a_crew(client, staff_admin):
    response = client.get(CREW)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    login_staff(client, staff_admin)
    assert client.get(CREW).status_code == 404


@pytest.mark.django_db
def test_owner_adds_a_member_who_gets_a_set_password_email(
    owner_client, crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(ADD, {"full_name": "Gaffer", "email": "Gaffer@Example.com"})

    assert response.status_code == 302
    member = User.objects.get(email="gaffer@example.com")
    assert member.crew == crew_owner.crew
    assert member.crew_role == User.CrewRole.MEMBER
    assert not member.has_usable_password()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["gaffer@example.com"]
    assert crew_owner.crew.name in mail.subject

    path = re.search(r"http://[^/]+(/accounts/password/reset/\S+)", mail.body).group(1)
    form_page = owner_client.get(path, follow=True)
    assert form_page.context["validlink"] is True
    owner_client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "bright-set-lights-77", "new_password2": "bright-set-lights-77"},
    )
    member.refresh_from_db()
    assert member.check_password("bright-set-lights-77")


@pytest.mark.django_db
def test_member_email_is_written_in_the_owners_language(
    owner_client, crew_owner, mailoutbox, django_capture_on_commit_callbacks
):
    crew_owner.language = "zh-hans"
    crew_owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(ADD, {"full_name": "Script supervisor", "email": "wf@example.com"})
    assert "密码" in mailoutbox[0].body
    assert "密码" in mailoutbox[0].subject or "横店" in mailoutbox[0].subject


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"full_name": "A", "email": "nope"}, "email", "valid email"),
        ({"full_name": "", "email": "a@example.com"}, "full_name", "required"),
    ],
)
def test_bad_member_input_is_refused(owner_client, mailoutbox, data, field, message):
    response = owner_client.post(ADD, data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert User.objects.count() == 1
    assert mailoutbox == []


@pytest.mark.django_db
def test_existing_email_cannot_be_added_again(owner_client, other_crew_member, mailoutbox):
    response = owner_client.post(ADD, {"full_name": "X", "email": other_crew_member.email.upper()})
    assert response.status_code == 400
    assert "already has an account" in " ".join(response.context["form"].errors["email"])
    other_crew_member.refresh_from_db()
    assert other_crew_member.crew_role == User.CrewRole.OWNER
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_plain_member_cannot_add_members(client, crew_member, mailoutbox):
    client.force_login(crew_member)
    assert "Add a member" not in client.get(CREW).content.decode()

    response = client.post(ADD, {"full_name": "Sneaky", "email": "sneaky@example.com"})

    assert response.status_code == 400
    assert escape("Only the crew's owner can add members.") in response.content.decode()
    assert not User.objects.filter(email="sneaky@example.com").exists()


@pytest.mark.django_db
def test_adding_a_member_needs_login_and_post(client, crew_owner):
    response = client.post(ADD, {"full_name": "A", "email": "a@example.com"})
    assert response.status_code == 302
    assert not User.objects.filter(email="a@example.com").exists()
    client.force_login(crew_owner)
    assert client.get(ADD).status_code == 405
