"""A bounded fuzz test over every public form and query string.

Each test posts (or asks for) what its form has, field by field: mostly valid
values with a few replaced by nasty ones (NUL and other control characters,
huge numbers, dates at the ends of the calendar, direction marks, emoji, very
long, SQL-ish and HTML-ish text) or left out. Whatever comes back:

- never a 5xx;
- an error answer (4xx) writes nothing;
- whatever was written is whole: a crew has its owner, a booking its plan,
  equipment lines and stored quote, and every new row passes its model's
  validation (so a name with a line break cannot slip in).

The fields are read from the forms themselves, so a form that gains or loses
a field is fuzzed as it is. The number of examples comes from the Hypothesis
profile (tests/conftest.py): ``ci`` by default, 150 per form and more for the
cheap query strings, paths and log-in (about 1,800 requests, a minute), the
same examples every run; ``HYPOTHESIS_PROFILE=deep`` for a longer, random
search.
"""

import string
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.db.models import Count, Max
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from bookings import services
from bookings.forms import MemberAddForm, SetFilterForm, SignupForm
from bookings.models import Booking, BookingItem, Crew, DayRange, Notification, ShootPlan, User
from workshops.forms import EnrolmentForm
from workshops.models import Enrolment

from .factories import (
    PASSWORD,
    CrewOwnerFactory,
    EnrolmentFactory,
    EquipmentFactory,
    SessionFactory,
    StudioSetFactory,
)

pytestmark = pytest.mark.django_db

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "line\nbreak",
    "\t",
    "\x1b[31mred",
    "\x7f\x85",
    "\u2028\u2029",
    "\u202egnp.exe",
    "\u200f\u200e",
    "\ufeff",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2025-02-30",
    "1970-01-01",
    "9999-12",
    "0-0",
    "-1",
    "0",
    "1e309",
    "NaN",
    "Infinity",
    "-0.0",
    "99999999999999999999",
    "1" * 400,
    "٢٠٢٥-٠١-٠١",
    "' OR 1=1 --",
    "'; DROP TABLE bookings_booking; --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
    "{% debug %}",
    "${7*7}",
    "😀",
    "👩\u200d👩\u200d👧",
    "𝕳𝖊𝖓𝖌𝖉𝖎𝖆𝖓",
    "横店影视城",
    "مرحبا",
    "x" * 5000,
    "a@b",
    "@",
    "user@" + "c" * 300 + ".com",
    "null",
    "[]",
    "../../etc/passwd",
    "%00",
    "on",
    "HD-AAAAAA",
]


def nasty() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        # NUL gets its own share: PostgreSQL refuses it outright, so it is the likeliest 500.
        st.text(max_size=8).map(lambda text: f"{text}\x00{text}"),
        st.sampled_from(NASTY),
        st.text(max_size=30),
        st.integers().map(str),
        st.dates().map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
    )


@st.composite
def mutated(draw, valid: dict[str, st.SearchStrategy], fields: list[str]) -> dict[str, str]:
    """Valid values for ``fields``, then a few replaced by nasty ones or left out."""
    data = {name: draw(valid.get(name, nasty())) for name in fields}
    for name in draw(st.sets(st.sampled_from(fields), max_size=3)):
        if draw(st.booleans()):
            data[name] = draw(nasty())
        else:
            data.pop(name)
    return data


def usually(valid: st.SearchStrategy, other: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """A valid value nine times in ten, else ``other`` (a nasty one): with a wrong form
    count, or dates far off, nothing else in the form is even looked at."""
    return st.sampled_from(range(10)).flatmap(
        lambda i: (nasty() if other is None else other) if i == 9 else valid
    )


def days_from_today(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: (timezone.localdate() + timedelta(days=n)).isoformat())


emails = st.from_regex(r"[a-z]{1,12}\.[a-z0-9]{1,6}@example\.(com|org|cn)", fullmatch=True)
names = st.text(alphabet=string.ascii_letters + " 张伟'-", min_size=1, max_size=40).filter(str.strip)

# --- What every answer must keep -------------------------------------------------------

WATCHED = (Crew, User, ShootPlan, Booking, BookingItem, Enrolment, Notification)


def snapshot() -> dict:
    """Each watched model's row count and highest id."""
    return {
        model: tuple(model.objects.aggregate(n=Count("pk"), last=Max("pk")).values()) for model in WATCHED
    }


def assert_whole(response, before: dict) -> None:
    assert response.status_code < 500
    after = snapshot()
    if response.status_code >= 400:
        assert {m: n for m, (n, _last) in after.items()} == {m: n for m, (n, _last) in before.items()}
    last = {model: pk or 0 for model, (_n, pk) in before.items()}
    for crew in Crew.objects.filter(pk__gt=last[Crew]):
        crew.full_clean()
        assert crew.members.filter(crew_role=User.CrewRole.OWNER).count() == 1
        # What the crew typed ends up in its calendar feed, which must still answer.
        feed = Client().get(reverse("bookings:feed", args=[crew.calendar_token]))
        assert feed.status_code == 200
        Calendar.from_ical(feed.content)
    for user in User.objects.filter(pk__gt=last[User]):
        user.full_clean(exclude=["password"])
    for plan in ShootPlan.objects.filter(pk__gt=last[ShootPlan]):
        assert plan.bookings.exists()
    for booking in Booking.objects.filter(pk__gt=last[Booking]).prefetch_related("items__equipment"):
        assert booking.crew_id == booking.plan.crew_id
        assert booking.start_date <= booking.end_date <= booking.blocked_until
        assert booking.quote_total == sum(Decimal(line["amount"]) for line in booking.quote_lines)
        assert sorted(line["label"] for line in booking.quote_lines[1:]) == sorted(
            item.equipment.name for item in booking.items.all()
        )
        # The crew is told in the same transaction: about the booking, or its plan as a whole.
        assert booking.notifications.exists() or booking.plan.notifications.exists()
    for enrolment in Enrolment.objects.filter(pk__gt=last[Enrolment]):
        enrolment.full_clean()


# --- The world the forms act on ------------------------------------------------------------


@pytest.fixture
def world(settings):
    # Hashing is not under test, and the slow production hasher would eat the time budget.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REGISTRATION_RATE_LIMIT = (10**9, 60)
    owner = CrewOwnerFactory()
    studio_sets = [StudioSetFactory(changeover_days=1), StudioSetFactory()]
    equipment = [EquipmentFactory(stock=5), EquipmentFactory(stock=2)]
    session = SessionFactory(capacity=2)
    enrolment = EnrolmentFactory(session=session)
    booking = services.booking_request(
        crew=owner.crew,
        studio_set=studio_sets[0],
        days=DayRange(timezone.localdate() + timedelta(days=40), timezone.localdate() + timedelta(days=42)),
        by=owner,
    )
    owner_client = Client()
    owner_client.force_login(owner)
    return {
        "owner": owner,
        "owner_client": owner_client,
        "sets": studio_sets,
        "equipment": equipment,
        "session": session,
        "enrolment": enrolment,
        "booking": booking,
    }


def post(client: Client, url: str, data: dict):
    before = snapshot()
    response = client.post(url, data)
    assert_whole(response, before)
    return response


def get(client: Client, url: str, data: dict | None = None):
    before = snapshot()
    response = client.get(url, data or {})
    assert_whole(response, before)
    return response


# --- Accounts ----------------------------------------------------------------------------


@given(data=st.data())
def test_sign_up(world, data):
    password = data.draw(st.sampled_from([PASSWORD, "tall-bamboo-in-rain-42"]))
    valid = {
        "full_name": names,
        "email": emails,
        "company_name": names,
        "contact_phone": st.sampled_from(["+86 579 8655 0000", "+27 21 555 0199", "(0579) 8655-0000"]),
        "country": st.sampled_from(["CN", "ZA", "MX", "RS", "KR"]),
        "password1": st.just(password),
        "password2": st.just(password),
    }
    post(Client(), reverse("signup"), data.draw(mutated(valid, list(SignupForm().fields))))


@settings(max_examples=2 * settings.default.max_examples)
@given(data=st.data())
def test_log_in(world, data):
    valid = {
        "username": st.sampled_from([world["owner"].email, world["owner"].email.upper()]),
        "password": st.just(PASSWORD),
    }
    fields = [*AuthenticationForm().fields, "next"]
    valid["next"] = st.sampled_from(["/bookings/", "https://evil.example/", "//evil.example"])
    post(Client(), reverse("login"), data.draw(mutated(valid, fields)))


@settings(max_examples=2 * settings.default.max_examples)
@given(data=st.data())
def test_password_reset(world, data):
    valid = {"email": st.sampled_from([world["owner"].email, "nobody@example.com"])}
    post(Client(), reverse("password_reset"), data.draw(mutated(valid, list(PasswordResetForm().fields))))


@given(data=st.data())
def test_crew_member_add(world, data):
    valid = {"full_name": names, "email": emails}
    post(
        world["owner_client"],
        reverse("bookings:crew_member_add"),
        data.draw(mutated(valid, list(MemberAddForm().fields))),
    )


# --- Bookings ------------------------------------------------------------------------------


@st.composite
def shoot_days(draw) -> tuple[str, str]:
    """First and last shoot day, usually within the booking rules, sometimes just outside."""
    start = timezone.localdate() + timedelta(days=draw(usually(st.integers(1, 300), st.integers(-3, 370))))
    end = start + timedelta(days=draw(usually(st.integers(0, 6), st.integers(-2, 33))))
    return start.isoformat(), end.isoformat()


@st.composite
def booking_form(draw, world) -> dict:
    parts, items = draw(st.sampled_from([1, 2, 1, 3, 0])), draw(st.sampled_from([0, 1, 2, 1, 3]))
    data = {"notes": draw(usually(st.just("")))}
    for prefix, count in (("parts", parts), ("items", items)):
        data[f"{prefix}-TOTAL_FORMS"] = draw(usually(st.just(str(count))))
        data[f"{prefix}-INITIAL_FORMS"] = draw(usually(st.just("0")))
    valid = {}
    for i in range(parts):
        start, end = draw(shoot_days())
        valid |= {
            f"parts-{i}-studio_set": st.sampled_from([s.slug for s in world["sets"]]),
            f"parts-{i}-start_date": st.just(start),
            f"parts-{i}-end_date": st.just(end),
        }
    kinds = draw(st.permutations([e.slug for e in world["equipment"]]))
    for i in range(items):
        valid |= {
            # Each kind once, as the form asks, until there are more lines than kinds.
            f"items-{i}-equipment": st.just(kinds[i % len(kinds)]),
            f"items-{i}-quantity": usually(st.integers(1, 2), st.integers(-1, 6)).map(str),
            f"items-{i}-DELETE": st.sampled_from(["", "", "", "on"]),
        }
    if valid:
        data |= draw(mutated(valid, list(valid)))
    button = draw(st.sampled_from([None, None, None, None, "add_parts", "add_items"]))
    if button:
        data[button] = "1"
    return data


@given(data=st.data())
def test_booking_form_and_live_quote(world, data):
    form = data.draw(booking_form(world))
    client = world["owner_client"]
    post(client, reverse("bookings:quote"), form)
    post(client, reverse("bookings:new"), form)


# --- Workshops ---------------------------------------------------------------------------


@given(data=st.data())
def test_workshop_registration(world, data):
    session = world["session"]
    valid = {
        "full_name": names,
        "email": st.one_of(emails, st.just(world["enrolment"].email)),
        "nationality": st.sampled_from(["NG", "MX", "RS", "ZA"]),
        "country_of_residence": st.sampled_from(["NG", "US", "KR"]),
        "role": st.sampled_from([value for value, _label in Enrolment.Role.choices]),
        "experience": st.one_of(st.just(""), st.text(max_size=200)),
        "language": st.sampled_from(["en", "es", "zh-hans"]),
        "needs": st.just(""),
        "needs_visa_letter": st.sampled_from(["", "on"]),
        "passport_number": st.sampled_from(["A12345678", "e 1234-5678"]),
        "passport_expiry": days_from_today(-10, 5000),
        "date_of_birth": st.dates(date(1890, 1, 1), date(2030, 1, 1)).map(str),
        "consent": st.just("on"),
        "website": st.just(""),
    }
    fields = list(EnrolmentForm(session=session).fields)
    post(Client(), reverse("workshops:register", args=[session.pk]), data.draw(mutated(valid, fields)))


# --- Query strings and paths ---------------------------------------------------------------


@st.composite
def page_with_query(draw, world) -> tuple[str, dict]:
    studio_set = world["sets"][0]
    pages = {
        reverse("bookings:set_list"): {
            **{name: nasty() for name in SetFilterForm().fields},
            "category": st.sampled_from(["", "palace", "green_screen"]),
            "free_from": days_from_today(-5, 400),
            "free_to": days_from_today(-5, 420),
            "page": st.integers(-2, 5).map(str),
        },
        studio_set.get_absolute_url(): {
            "month": usually(
                st.integers(-30, 30).map(_month), st.sampled_from(["9999-12", "0001-01", "1-1", "0-13"])
            ),
            "start": days_from_today(-5, 400),
            "end": days_from_today(-5, 420),
        },
        reverse("bookings:equipment_list"): {
            "start": days_from_today(-5, 400),
            "end": days_from_today(-5, 420),
        },
        reverse("bookings:new"): {
            "set": st.sampled_from([s.slug for s in world["sets"]]),
            "start": days_from_today(-5, 400),
            "end": days_from_today(-5, 420),
        },
        reverse("bookings:list"): {},
        reverse("workshops:list"): {},
        reverse("login"): {"next": st.sampled_from(["/bookings/", "//evil.example"])},
        reverse("home"): {},
    }
    url = draw(st.sampled_from(sorted(pages)))
    valid = pages[url]
    query = draw(mutated(valid, list(valid))) if valid else {}
    extra = draw(st.dictionaries(nasty(), nasty(), max_size=2))
    return url, {**extra, **query}


def _month(offset: int) -> str:
    first = timezone.localdate().replace(day=1)
    index = first.year * 12 + first.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# Pages are cheap to ask for: more examples here, spread over the pages.
@settings(max_examples=3 * settings.default.max_examples)
@given(data=st.data())
def test_query_strings(world, data):
    url, query = data.draw(page_with_query(world))
    client = data.draw(st.sampled_from([world["owner_client"], Client()]))
    get(client, url, query)


PATHS = [
    ("get", "/bookings/{}/"),
    ("get", "/bookings/{}/cancel/"),
    ("get", "/bookings/{}.ics"),
    ("head", "/bookings/feed/{}.ics"),
    ("get", "/bookings/feed/{}.ics"),
    ("get", "/enrolments/{}/"),
    ("get", "/enrolments/{}/cancel/"),
    ("post", "/enrolments/{}/cancel/"),
    ("get", "/enrolments/{}/session.ics"),
    ("get", "/enrolments/{}/letter.pdf"),
    ("get", "/sets/{}/"),
    ("get", "/workshops/{}/"),
    ("get", "/workshops/sessions/{}/register/"),
]


@settings(max_examples=2 * settings.default.max_examples)
@given(data=st.data())
def test_paths_with_references_tokens_and_slugs(world, data):
    method, pattern = data.draw(st.sampled_from(PATHS))
    real = st.sampled_from(
        [
            world["booking"].reference,
            world["owner"].crew.calendar_token,
            world["enrolment"].manage_token,
            world["sets"][1].slug,
            str(world["session"].pk),
        ]
    )
    segment = data.draw(st.one_of(real, nasty().filter(bool)))
    client = data.draw(st.sampled_from([world["owner_client"], Client()]))
    before = snapshot()
    response = getattr(client, method)(pattern.format(quote(segment, safe="")))
    assert_whole(response, before)
