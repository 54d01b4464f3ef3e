import pytest
from django.urls import reverse

from bookings.models import Crew, User

from ..factories import CrewOwnerFactory

URL = reverse("signup")


def _data(**overrides):
    data = {
        "full_name": "Line producer",
        "email": "producer@example.com",
        "company_name": "Jade River Studio",
        "contact_phone": "+86 571 8765 4321",
        "country": "CN",
        "password1": "tall-bamboo-in-rain-42",
        "password2": "tall-bamboo-in-rain-42",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_signup_creates_crew_with_owner_and_logs_in(client):
    response = client.post(URL, _data(email="Producer@Example.com"))

    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:crew")
    user = User.objects.get()
    assert user.email == "producer@example.com"
    assert user.check_password("tall-bamboo-in-rain-42")
    assert user.crew.name == "Jade River Studio"
    assert user.crew.country.code == "CN"
    assert user.is_crew_owner
    page = client.get(reverse("bookings:crew"))
    assert page.status_code == 200
    assert "Jade River Studio" in page.content.decode()


@pytest.mark.django_db
def test_signup_remembers_the_language_it_was_made_in(client):
    client.cookies["django_language"] = "es"
    client.post(URL, _data())
    assert User.objects.get().language == "es"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"password1": "12345678", "password2": "12345678"}, "password1", "too common"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password2": "something-else-entirely"}, "password2", "do not match"),
        ({"company_name": ""}, "company_name", "This field is required"),
        ({"company_name": "   "}, "company_name", "This field is required"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"contact_phone": "call me"}, "contact_phone", "phone number"),
        ({"country": "XX"}, "country", "valid choice"),
        ({"company_name": "x" * 201}, "company_name", "at most 200"),
    ],
)
def test_bad_signup_input_is_refused_next_to_the_field(client, overrides, field, message):
    response = client.post(URL, _data(**overrides))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert not User.objects.exists()
    assert not Crew.objects.exists()


@pytest.mark.django_db
def test_duplicate_email_is_refused_whatever_its_case(client):
    CrewOwnerFactory(email="producer@example.com")

    response = client.post(URL, _data(email="PRODUCER@example.com"))

    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["form"].errors["email"])
    assert User.objects.count() == 1
    assert Crew.objects.count() == 1


@pytest.mark.django_db
def test_signup_page_renders_for_a_visitor_and_redirects_a_member(client, crew_owner):
    assert client.get(URL).status_code == 200
    client.force_login(crew_owner)
    assert client.get(URL)["Location"] == reverse("bookings:crew")


@pytest.mark.django_db
def test_signup_requires_csrf_token():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(URL, _data())
    assert response.status_code == 403
    assert not User.objects.exists()
