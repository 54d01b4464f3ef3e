from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import EnrolmentFactory, SessionFactory, WorkshopFactory
from workshops.models import Enrolment, Session

pytestmark = pytest.mark.django_db


def _sessions(count: int) -> None:
    for i in range(count):
        session = SessionFactory(capacity=2, interpretation=["zh-hans"])
        EnrolmentFactory(session=session)
        if i % 2:
            EnrolmentFactory(session=session)
            EnrolmentFactory(session=session, status=Enrolment.Status.WAITLISTED, waitlist_order=1)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_the_session_list_costs_the_same_queries_for_3_or_100_sessions(client):
    _sessions(3)
    small = _queries(client, reverse("workshops:list"))
    _sessions(97)

    assert _queries(client, reverse("workshops:list")) == small


def test_the_session_list_shows_dates_language_interpretation_fee_and_places(client):
    free = SessionFactory(capacity=3, interpretation=["zh-hans", "es"], workshop__fee=0)
    full = SessionFactory(capacity=1, workshop__fee=2800, language=Session.Language.CHINESE)
    EnrolmentFactory(session=free)
    EnrolmentFactory(session=full)
    SessionFactory(workshop__title="Hidden draft", workshop__is_published=False)
    SessionFactory(workshop__title="Called off", status=Session.Status.CANCELLED)
    SessionFactory(
        workshop__title="Already over",
        starts_at=timezone.now() - timedelta(days=10),
        registration_closes_at=timezone.now() - timedelta(days=12),
    )

    page = client.get(reverse("workshops:list")).content.decode()

    assert "2 places left" in page
    assert "Full — waiting list" in page
    assert "Simplified Chinese, Spanish" in page
    assert "¥2,800" in page
    assert "Free" in page
    assert "China Standard Time, Asia/Shanghai" in page
    for hidden in ("Hidden draft", "Called off", "Already over"):
        assert hidden not in page


def test_the_workshop_page_lists_its_open_sessions(client):
    workshop = WorkshopFactory(topics="vertical framing, pacing")
    SessionFactory(workshop=workshop, venue="Qin Palace studio 3")
    SessionFactory(workshop=workshop, venue="Cancelled venue", status=Session.Status.CANCELLED)

    page = client.get(workshop.get_absolute_url()).content.decode()

    assert "Qin Palace studio 3" in page
    assert "Cancelled venue" not in page
    assert "vertical framing" in page
    assert client.get(reverse("workshops:detail", args=["no-such-workshop"])).status_code == 404
    assert client.get(WorkshopFactory(is_published=False).get_absolute_url()).status_code == 404


def _listed(html: str) -> int:
    return html.count('class="list-group-item"')


def test_the_session_list_is_paged_and_a_page_past_the_end_shows_the_last(client):
    for _ in range(25):
        SessionFactory()
    first = client.get(reverse("workshops:list")).content.decode()
    assert _listed(first) == 20
    assert 'aria-current="page"' in first and "Page 1 of 2" in first
    assert "?page=2" in first

    assert _listed(client.get(reverse("workshops:list"), {"page": 2}).content.decode()) == 5
    for page in ("99", "-1", "abc", "1" * 40):
        response = client.get(reverse("workshops:list"), {"page": page})
        assert response.status_code == 200
        assert _listed(response.content.decode()) in (5, 20)


def test_a_search_keeps_its_words_in_the_page_links(client):
    for _ in range(21):
        SessionFactory(workshop=WorkshopFactory(title="Lighting night scenes"))
    page = client.get(reverse("workshops:list"), {"q": "lighting"}).content.decode()
    assert "?q=lighting&amp;page=2" in page


@pytest.mark.parametrize("sessions", [3, 45])
def test_a_page_of_the_session_list_costs_a_few_queries_however_many_sessions(
    client, sessions, django_assert_max_num_queries
):
    _sessions(sessions)
    with django_assert_max_num_queries(4):
        assert client.get(reverse("workshops:list"), {"page": 2}).status_code == 200
