"""The catalogue in every language: demo texts, fallback to English, search, admin, emails and calendars."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from icalendar import Calendar

from bookings import services
from bookings.models import Equipment, Notification, StudioSet
from workshops import emails as workshop_emails
from workshops.models import Enrolment, Session, Workshop

from .bookings.test_booking_request import days_from_now
from .factories import (
    CrewOwnerFactory,
    EnrolmentFactory,
    EquipmentFactory,
    SessionFactory,
    StudioSetFactory,
    WorkshopFactory,
)

pytestmark = pytest.mark.django_db

TRANSLATED = {
    StudioSet: ["name", "description", "location", "features"],
    Equipment: ["name", "description"],
    Workshop: ["title", "summary", "description", "topics"],
    Session: ["venue"],
}


def qin_palace() -> StudioSet:
    return StudioSetFactory(
        name_en="Qin palace courtyard",
        name_zh_hans="秦王宫 · 广场",
        name_es="Patio del Palacio Qin",
        location_en="Qin palace area, main gate",
        location_zh_hans="秦王宫景区正门",
        location_es="Zona del Palacio Qin, puerta principal",
    )


def page(client, url: str, language: str, **params) -> str:
    response = client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


# --- Demo data ---------------------------------------------------------------------------


def test_every_demo_catalogue_record_has_chinese_and_spanish_text():
    call_command("seed_demo", force=True)
    missing = []
    for model, fields in TRANSLATED.items():
        assert model.objects.exists()
        for obj in model.objects.all():
            for name in fields:
                english = getattr(obj, f"{name}_en")
                assert english, f"{model.__name__} {obj.pk} has no English {name}"
                for language in ("zh_hans", "es"):
                    text = getattr(obj, f"{name}_{language}")
                    if not text or text == english:
                        missing.append(f"{model.__name__} {obj.pk} {name}_{language}")
    assert missing == []


def test_the_demo_uses_the_real_names_of_hengdian_and_a_second_run_updates_the_texts():
    call_command("seed_demo", force=True)
    names = set(StudioSet.objects.values_list("name_zh_hans", flat=True))
    assert {"清明上河图", "江南水乡", "大智禅寺", "明清民居博览城"} <= names
    assert any(name.startswith("秦王宫") for name in names)
    StudioSet.objects.filter(slug="courtroom").update(name_es="", daily_rate=1)
    count = StudioSet.objects.count()

    call_command("seed_demo", force=True)

    courtroom = StudioSet.objects.get(slug="courtroom")
    assert courtroom.name_es == "Sala de tribunal"
    assert courtroom.daily_rate == 1  # staff's rate is theirs: only texts are brought up to date
    assert StudioSet.objects.count() == count


# --- Reading a translation, and falling back to English --------------------------------------


def test_an_empty_translation_shows_the_english_text(client):
    studio_set = StudioSetFactory(name_en="Palace hall", name_es="Salón del palacio", name_zh_hans="")
    with translation.override("zh-hans"):
        assert studio_set.name == "Palace hall"
    with translation.override("es"):
        assert studio_set.name == "Salón del palacio"

    assert "Palace hall" in page(client, reverse("bookings:set_list"), "zh-hans")
    spanish = page(client, reverse("bookings:set_list"), "es")
    assert "Salón del palacio" in spanish and "Palace hall" not in spanish


def test_chinese_feature_lists_split_on_chinese_commas():
    studio_set = StudioSetFactory(features_en="a, b", features_zh_hans="自然光、三相电，马匹")
    with translation.override("zh-hans"):
        assert studio_set.feature_list == ["自然光", "三相电", "马匹"]


def test_the_set_page_lists_each_feature_on_its_own_not_joined_with_a_latin_comma(client):
    studio_set = StudioSetFactory(
        features_en="Throne dais, Three-phase power", features_zh_hans="御座高台、三相电"
    )
    html = page(client, studio_set.get_absolute_url(), "zh-hans")
    assert ">御座高台</li>" in html and ">三相电</li>" in html
    assert "御座高台, 三相电" not in html


# --- Search --------------------------------------------------------------------------------


def test_set_search_looks_in_the_visitors_language_and_in_english(client):
    qin = qin_palace()
    StudioSetFactory(name_en="Hospital ward", name_zh_hans="医院病房")
    url = reverse("bookings:set_list")

    chinese = page(client, url, "zh-hans", q="秦王宫")
    assert qin.get_absolute_url() in chinese and "医院病房" not in chinese
    english = page(client, url, "en", q="qin palace")
    assert "Qin palace courtyard" in english and "Hospital ward" not in english
    # An English name still finds the set in Chinese, where it shows in Chinese.
    assert "秦王宫 · 广场" in page(client, url, "zh-hans", q="Qin")
    # Every word must match, in any of the searched fields (here the Spanish "where to go").
    assert "Patio del Palacio Qin" in page(client, url, "es", q="puerta principal")
    assert "No sets match" in page(client, url, "en", q="秦王宫")


def test_equipment_search_works_in_spanish_without_dates(client):
    EquipmentFactory(name_en="Three-axis gimbal", name_es="Estabilizador de tres ejes")
    EquipmentFactory(name_en="Teleprompter", name_es="Teleprónter")
    html = page(client, reverse("bookings:equipment_list"), "es", q="estabilizador")
    assert "Estabilizador de tres ejes" in html and "Teleprónter" not in html
    assert "is-invalid" not in html  # a search alone does not ask for dates


def test_workshop_search_works_in_chinese(client):
    SessionFactory(workshop=WorkshopFactory(title_en="Acting for vertical screens", title_zh_hans="竖屏表演"))
    SessionFactory(workshop=WorkshopFactory(title_en="Open day", title_zh_hans="开放日"))
    html = page(client, reverse("workshops:list"), "zh-hans", q="竖屏")
    assert "竖屏表演" in html and "开放日" not in html
    assert "开放日" in page(client, reverse("workshops:list"), "zh-hans")


def test_an_overlong_search_is_answered_next_to_the_field(client):
    StudioSetFactory(name_en="Palace hall")
    for name in ("bookings:set_list", "bookings:equipment_list", "workshops:list"):
        response = client.get(reverse(name), {"q": "x" * 500})
        assert response.status_code == 200
        assert "is-invalid" in response.content.decode()


# --- Admin ---------------------------------------------------------------------------------


def test_the_admin_edits_every_language_side_by_side_and_searches_them_all(staff_client):
    qin = qin_palace()
    form = staff_client.get(reverse("admin:bookings_studioset_change", args=[qin.pk])).content.decode()
    for field in ("name", "description", "location", "features"):
        for language in ("en", "zh_hans", "es"):
            assert f'name="{field}_{language}"' in form
    assert "秦王宫 · 广场" in form

    found = staff_client.get(reverse("admin:bookings_studioset_changelist"), {"q": "秦王宫"})
    assert "Qin palace courtyard" in found.content.decode()

    workshop = SessionFactory().workshop
    form = staff_client.get(reverse("admin:workshops_workshop_change", args=[workshop.pk])).content.decode()
    assert 'name="title_zh_hans"' in form and 'name="sessions-0-venue_es"' in form


def test_the_admin_requires_the_english_name_only(staff_client):
    response = staff_client.post(
        reverse("admin:bookings_equipment_add"),
        {
            "name_en": "",
            "name_zh_hans": "提词器",
            "slug": "prompter",
            "category": "teleprompter",
            "daily_rate": "100",
            "stock": "2",
            "components-TOTAL_FORMS": "0",
            "components-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert not Equipment.objects.exists()

    response = staff_client.post(
        reverse("admin:bookings_equipment_add"),
        {
            "name_en": "Teleprompter",
            "slug": "prompter",
            "category": "teleprompter",
            "daily_rate": "100",
            "stock": "2",
            "components-TOTAL_FORMS": "0",
            "components-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    equipment = Equipment.objects.get()
    with translation.override("es"):
        assert equipment.name == "Teleprompter"


# --- What people are sent: emails and calendars in their own language -------------------------


@pytest.fixture
def chinese_booking(django_capture_on_commit_callbacks):
    owner = CrewOwnerFactory(language="zh-hans")
    camera = EquipmentFactory(
        name_en="Vertical camera kit", name_zh_hans="竖屏摄影机套装", name_es="Kit de cámara"
    )
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.booking_request(
            crew=owner.crew,
            studio_set=qin_palace(),
            days=days_from_now(10, 3),
            items=[services.ItemRequest(camera, 1)],
            by=owner,
        )
    return owner, booking


def test_a_chinese_crew_is_emailed_the_chinese_set_name(chinese_booking, mailoutbox):
    _owner, booking = chinese_booking
    notice = Notification.objects.get(booking=booking, kind=Notification.Kind.BOOKING_REQUESTED)
    assert notice.language == "zh-hans"
    assert "秦王宫 · 广场" in notice.subject
    assert "竖屏摄影机套装" in notice.body_text
    assert "Qin palace courtyard" not in notice.body_text
    sent = [m for m in mailoutbox if m.to == [notice.recipient]]
    assert sent and "秦王宫 · 广场" in sent[0].subject


def test_ics_and_feed_name_the_set_in_the_members_language(client, chinese_booking):
    owner, booking = chinese_booking
    owner.set_password("pw-for-test-1")
    owner.save()
    client.force_login(owner)

    ics = client.get(reverse("bookings:ics", args=[booking.reference]), HTTP_ACCEPT_LANGUAGE="en")
    event = Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert "秦王宫 · 广场" in str(event["summary"])
    assert "竖屏摄影机套装" in str(event["description"])

    feed_url = reverse("bookings:feed", args=[owner.crew.calendar_token])
    # Calendar apps send no language: the feed is in the owner's.
    assert "秦王宫 · 广场" in client.get(feed_url).content.decode()
    # Each member's link on the crew page carries their own language.
    assert "Patio del Palacio Qin" in client.get(feed_url, {"lang": "es"}).content.decode()
    assert "?lang=zh-hans" in client.get(reverse("bookings:crew")).content.decode()


def test_a_stored_quote_names_the_set_in_the_readers_language(client, chinese_booking):
    owner, booking = chinese_booking
    assert booking.quote_lines[0]["labels"]["es"] == "Patio del Palacio Qin"
    client.force_login(owner)
    spanish = page(client, booking.get_absolute_url(), "es")
    assert "Patio del Palacio Qin" in spanish and "Kit de cámara" in spanish
    english = page(client, booking.get_absolute_url(), "en")
    assert "Qin palace courtyard" in english and "Vertical camera kit" in english


def test_a_chinese_participant_gets_the_workshop_in_chinese(client, django_capture_on_commit_callbacks):
    session = SessionFactory(
        workshop=WorkshopFactory(title_en="Acting for vertical screens", title_zh_hans="竖屏表演"),
        venue_en="Hengdian International Training Centre",
        venue_zh_hans="横店国际培训中心",
    )
    enrolment = EnrolmentFactory(session=session, language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        notice = workshop_emails.enrolment_notify(
            enrolment=enrolment, kind=Notification.Kind.ENROLMENT_CONFIRMED
        )
    assert "竖屏表演" in notice.subject
    assert "横店国际培训中心" in notice.body_text

    ics = client.get(reverse("workshops:calendar", args=[enrolment.manage_token]), HTTP_ACCEPT_LANGUAGE="es")
    event = Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert str(event["summary"]) == "竖屏表演"
    assert "横店国际培训中心" in str(event["location"])
    assert Enrolment.objects.get().language == "zh-hans"
