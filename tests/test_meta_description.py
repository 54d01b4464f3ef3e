"""Every public page describes itself for search results and link previews, in the visitor's language."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from .factories import SessionFactory, StudioSetFactory

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "zh-hans", "es"]
DEFAULT = (
    "Book Hengdian World Studios' standing sets and equipment for your shoot, "
    "and join the studio's micro-drama workshops."
)


class _Meta(HTMLParser):
    def __init__(self):
        super().__init__()
        self.descriptions: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and attrs.get("name") == "description":
            self.descriptions.append(attrs.get("content") or "")


def description(client, url: str, language: str = "en") -> str:
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200, url
    parser = _Meta()
    parser.feed(response.content.decode())
    (only,) = parser.descriptions  # exactly one per page
    return only


@pytest.fixture
def public_urls():
    studio_set = StudioSetFactory(name="Ming palace hall")
    session = SessionFactory(
        workshop__title="Acting for vertical screens", workshop__summary="Five days on set."
    )
    return {
        "home": reverse("home"),
        "sets": reverse("bookings:set_list"),
        "set": studio_set.get_absolute_url(),
        "equipment": reverse("bookings:equipment_list"),
        "workshops": reverse("workshops:list"),
        "workshop": session.workshop.get_absolute_url(),
        "register": reverse("workshops:register", args=[session.pk]),
        "login": reverse("login"),
        "signup": reverse("signup"),
        "password reset": reverse("password_reset"),
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_page_has_its_own_description(client, public_urls, language):
    found = {page: description(client, url, language) for page, url in public_urls.items()}

    for page, text in found.items():
        assert 10 <= len(text) <= 200, (page, text)
    assert len(set(found.values())) == len(found), found


def test_descriptions_say_what_the_page_offers(client, public_urls):
    assert description(client, public_urls["set"]) == (
        "Ming palace hall (Palace) at Hengdian World Studios: its free days, daily rate and how to book it."
    )
    assert description(client, public_urls["workshop"]) == "Five days on set."
    assert description(client, public_urls["register"]) == (
        "Register for Acting for vertical screens at Hengdian World Studios, or join its waiting list. "
        "No account needed."
    )
    assert "green-screen" in description(client, public_urls["sets"])


def test_names_in_a_description_are_escaped(client):
    studio_set = StudioSetFactory(name='Hall "A" <b>')

    assert description(client, studio_set.get_absolute_url()).startswith('Hall "A" <b> (')


def test_pages_without_their_own_have_the_site_description(client, crew_owner):
    client.force_login(crew_owner)

    assert description(client, reverse("bookings:crew")) == DEFAULT
