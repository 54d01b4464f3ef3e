"""The registration form is rendered once per process, language and state, and says the same.

The blank form and its country lists are kept in memory (bookings.pagecache.blank_form_html);
the page around it, and the CSRF token, are fresh for every visitor.
"""

import re

import pytest
from django import forms
from django.test import Client
from django.urls import reverse
from django_countries import countries

from bookings.widgets import LongSelect
from tests.factories import EnrolmentFactory, SessionFactory
from workshops.forms import EnrolmentForm

pytestmark = pytest.mark.django_db


def _url(session) -> str:
    return reverse("workshops:register", args=[session.pk])


def _token(html: str) -> str:
    (form,) = re.findall(
        r'<form method="post">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', html
    )
    return form


def test_each_visitor_gets_the_same_form_with_their_own_token():
    session = SessionFactory()
    first, second = Client(), Client()
    page_one = first.get(_url(session)).content.decode()
    page_two = second.get(_url(session)).content.decode()

    assert _token(page_one) != _token(page_two)

    # Everything after the token, to the end of the form, is the same for both.
    def fields(html: str) -> str:
        start = html.index(_token(html), html.index('<form method="post">'))
        return html[start + len(_token(html)) : html.index("</form>", start)]

    assert fields(page_one) == fields(page_two)
    assert 'name="nationality"' in page_one and '<option value="CN">China</option>' in page_one

    # The token each was given is the one that works for them.
    posted = second.post(_url(session), {"csrfmiddlewaretoken": _token(page_two)})
    assert posted.status_code == 200  # the form with its errors, not a 403


def test_the_kept_form_follows_the_language_and_whether_the_session_is_full(client):
    open_session = SessionFactory(capacity=5)
    full_session = SessionFactory(capacity=1)
    EnrolmentFactory(session=full_session)

    for _ in range(2):  # the second time from memory
        english = client.get(_url(open_session), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        chinese = client.get(_url(open_session), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        full = client.get(_url(full_session), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        full_es = client.get(_url(full_session), HTTP_ACCEPT_LANGUAGE="es").content.decode()

        assert 'value="Register"' in english and "Join the waiting list" not in english
        assert '<option value="CN">中国</option>' in chinese and "我需要签证邀请函" in chinese
        # The language the emails go in starts as the page's own.
        assert re.search(r'<option value="zh-hans" selected>', chinese)
        assert 'value="Join the waiting list"' in full
        assert "Unirse a la lista de espera" in full_es and '<option value="CN">China</option>' in full_es


def test_a_form_sent_back_with_errors_keeps_what_was_chosen(client):
    session = SessionFactory()
    page = client.post(
        _url(session),
        {"full_name": "", "email": "amara@example.org", "nationality": "NG", "country_of_residence": "XX"},
    ).content.decode()

    assert re.search(r'<option value="NG" selected>Nigeria</option>', page)
    assert re.search(r'id="id_country_of_residence_error".*?<strong>Select a valid choice', page, re.S)
    assert 'value="amara@example.org"' in page


@pytest.mark.parametrize("value", ["CN", "", None, "a<b", "2"])
def test_the_long_select_writes_what_djangos_select_writes(value):
    choices = [
        ("", "---------"),
        ("a<b", 'A & B "quoted"'),
        ("group", [("1", "one"), ("2", "two")]),
        ("CN", "中国"),
    ]
    attrs = {"id": "id_c", "class": "form-select", "required": True, "disabled": False}
    django = forms.Select(choices=choices).render("c", value, attrs)
    ours = LongSelect(choices=choices).render("c", value, attrs)

    def normal(html: str) -> str:
        # The same attributes on the <select> (their order is not markup), the same options.
        html = re.sub(r">\s+<", "><", html.strip())
        tag, rest = html.split(">", 1)
        return " ".join(sorted(tag.split())) + ">" + rest

    assert normal(ours) == normal(django)


def test_country_fields_check_codes_against_the_list():
    session = SessionFactory()
    form = EnrolmentForm({"nationality": "ZZ", "country_of_residence": "GB"}, session=session)
    form.is_valid()
    assert "nationality" in form.errors
    assert "country_of_residence" not in form.errors
    assert len(list(form.fields["nationality"].choices)) == len(list(countries)) + 1
