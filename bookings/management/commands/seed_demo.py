"""Load demo data: sets, equipment, workshops, two staff logins and a crew.

Safe to run again: existing rows (matched by slug or email) are left as they are.
"""

from base64 import b32encode
from binascii import unhexlify
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from bookings import services
from bookings.models import Crew, DayRange, Equipment, StudioSet, User
from hengdian import roles
from workshops.models import Enrolment, Session, Workshop

DEMO_PASSWORD = "hengdian-demo-2025"  # noqa: S105 - printed on purpose: demo logins only
# Where crews report on their first shoot day (shown in the 48-hour reminder).
LOCATIONS = {
    "ming-qing-palace-hall": "Ming-Qing palace area, east gate",
    "qin-palace-courtyard": "Qin palace area, main gate",
    "hong-kong-street-1980s": "Hong Kong street backlot, north entrance",
    "qing-dynasty-market-street": "Qing market street, archway entrance",
    "modern-ceo-office": "Modern stages building, stage 3",
    "hospital-ward": "Modern stages building, stage 5",
}
STAFF_EMAIL = "staff@hengdian.example"
VISA_EMAIL = "visa@hengdian.example"
# The demo staff logins' authenticator key (development only: it is public).
# Add it to an authenticator app, or print the current code with `manage.py demo_totp_code`.
DEMO_TOTP_KEY = "48656e676469616e2d73747564696f2d64656d6f"
DEMO_STAFF = [
    (STAFF_EMAIL, "Studio desk", [roles.BOOKING_DESK, roles.WORKSHOP_DESK]),
    (VISA_EMAIL, "Visa desk", [roles.VISA_OFFICER]),
]
CREW_EMAIL = "coordinator@redlantern.example"

C = StudioSet.Category
SETS = [
    # slug, name, category, rate, changeover days, vertical, area, crew size, features, description
    (
        "ming-qing-palace-hall",
        "Ming-Qing palace hall",
        C.PALACE,
        28000,
        1,
        True,
        2400,
        120,
        "throne dais, practical lanterns, three-phase power",
        "The great hall of the Ming-Qing palace, with its throne dais and lacquered columns.",
    ),
    (
        "qin-palace-courtyard",
        "Qin palace courtyard",
        C.PALACE,
        22000,
        1,
        True,
        5200,
        200,
        "natural light, horse access, three-phase power",
        "An open stone courtyard of the Qin palace, for processions and duels.",
    ),
    (
        "hong-kong-street-1980s",
        "Hong Kong street, 1980s",
        C.ANCIENT_STREET,
        18000,
        1,
        True,
        3600,
        150,
        "neon signage, tram stop, practical shopfronts",
        "A block of 1980s Hong Kong: tenement fronts, neon signs, a tram stop and street stalls.",
    ),
    (
        "qing-dynasty-market-street",
        "Qing dynasty market street",
        C.ANCIENT_STREET,
        15000,
        0,
        True,
        4000,
        150,
        "natural light, teahouse interior",
        "Shops, a teahouse and an archway on a Qing-era market street.",
    ),
    (
        "modern-ceo-office",
        "Modern CEO office",
        C.MODERN_OFFICE,
        6800,
        0,
        True,
        180,
        30,
        "floor-to-ceiling windows, city backdrop, practical lights",
        "A glass corner office with a skyline backdrop: the billionaire-boss scene every micro drama needs.",
    ),
    (
        "hospital-ward",
        "Hospital ward",
        C.HOSPITAL,
        5200,
        0,
        True,
        220,
        30,
        "working monitors, corridor, nurses' station",
        "A four-bed ward with a corridor and nurses' station.",
    ),
    (
        "luxury-villa",
        "Luxury villa",
        C.RESIDENCE,
        12000,
        1,
        True,
        900,
        60,
        "staircase, pool terrace, natural light",
        "A furnished villa with a sweeping staircase and a pool terrace.",
    ),
    (
        "wedding-hall",
        "Wedding hall",
        C.WEDDING_HALL,
        9800,
        1,
        True,
        600,
        80,
        "stage, chandelier rig, aisle",
        "A banquet hall dressed for a wedding, with stage and aisle.",
    ),
    (
        "courtroom",
        "Courtroom",
        C.COURTROOM,
        7500,
        0,
        True,
        300,
        40,
        "judge's bench, public gallery",
        "A modern courtroom with judge's bench, dock and public gallery.",
    ),
    (
        "police-station",
        "Police station",
        C.POLICE_STATION,
        6200,
        0,
        True,
        350,
        40,
        "interview room with mirror, holding cell",
        "Front desk, open-plan office, interview room and cells.",
    ),
    (
        "campus-classroom",
        "Campus classroom",
        C.SCHOOL,
        4200,
        0,
        True,
        160,
        40,
        "blackboard, corridor lockers, natural light",
        "A senior-school classroom with corridor and lockers.",
    ),
    (
        "city-rooftop",
        "City rooftop",
        C.ROOFTOP,
        5600,
        0,
        True,
        500,
        30,
        "skyline view, water tanks, natural light",
        "A rooftop with a skyline view for confessions and confrontations.",
    ),
    (
        "green-screen-stage-3",
        "Green-screen stage 3",
        C.GREEN_SCREEN,
        8800,
        0,
        True,
        800,
        50,
        "cyclorama, lighting grid, three-phase power",
        "A three-wall green cyclorama with a full lighting grid.",
    ),
]

E = Equipment.Category
EQUIPMENT = [
    ("vertical-camera-kit", "Vertical camera kit (9:16 cage, lenses, media)", E.CAMERA_KIT, 1200, 12),
    ("cinema-zoom-lens", "Cinema zoom lens 18–55 mm", E.LENS, 450, 6),
    ("three-axis-gimbal", "Three-axis gimbal", E.GIMBAL, 380, 10),
    ("led-panel-1x1", "LED panel 1×1 bi-colour", E.LIGHTING, 160, 40),
    ("led-fresnel-300w", "LED Fresnel 300 W", E.LIGHTING, 260, 16),
    ("wireless-lav-set", "Wireless lavalier set (2 channels)", E.AUDIO, 180, 20),
    ("field-monitor-7", "7-inch field monitor", E.MONITOR, 150, 14),
    ("teleprompter", "Teleprompter", E.TELEPROMPTER, 220, 4),
    ("c-stand-kit", "C-stand kit (10 stands)", E.GRIP, 120, 8),
    ("battery-power-station", "Battery power station 2 kWh", E.POWER, 200, 10),
]

WORKSHOPS = [
    (
        "micro-drama-production-intensive",
        "Micro-drama production intensive",
        "Five days on set: how a 60-episode vertical series is planned, shot and cut in a week.",
        Decimal("6800"),
        [(21, 5, "en", 20, ["zh-hans", "es"]), (49, 5, "zh-hans", 24, ["en"])],
    ),
    (
        "acting-for-vertical-screens",
        "Acting for vertical screens",
        "Performance, blocking and eyelines for the 9:16 frame, with working micro-drama directors.",
        Decimal("3200"),
        [(28, 3, "en", 16, ["es"]), (35, 3, "es", 3, [])],
    ),
    (
        "open-day-hengdian-sets",
        "Open day: the sets of Hengdian",
        "A guided day through the palace, street and modern sets, with a booking-desk briefing.",
        Decimal("0"),
        [(14, 1, "en", 40, ["zh-hans"])],
    ),
]


class Command(BaseCommand):
    help = "Load demo sets, equipment, workshops and accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="Also run when DJANGO_DEBUG is off (creates demo logins)."
        )

    @transaction.atomic
    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates logins with a known password; use --force outside development."
            )
        created = 0
        for slug, name, category, rate, changeover, vertical, area, crew_size, features, text in SETS:
            _, new = StudioSet.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "category": category,
                    "daily_rate": Decimal(rate),
                    "changeover_days": changeover,
                    "vertical_ready": vertical,
                    "area_m2": area,
                    "max_crew_size": crew_size,
                    "features": features,
                    "description": text,
                    "location": LOCATIONS.get(slug, ""),
                },
            )
            created += new
        for slug, name, category, rate, stock in EQUIPMENT:
            _, new = Equipment.objects.get_or_create(
                slug=slug,
                defaults={"name": name, "category": category, "daily_rate": Decimal(rate), "stock": stock},
            )
            created += new
        today = timezone.localdate()
        for slug, title, summary, fee, sessions in WORKSHOPS:
            workshop, new = Workshop.objects.get_or_create(
                slug=slug, defaults={"title": title, "summary": summary, "fee": fee, "is_published": True}
            )
            created += new
            for in_days, length, language, capacity, interpretation in sessions:
                starts = timezone.make_aware(datetime.combine(today + timedelta(days=in_days), time(9, 0)))
                _, new = Session.objects.get_or_create(
                    workshop=workshop,
                    language=language,
                    defaults={
                        "starts_at": starts,
                        "ends_at": starts + timedelta(days=length - 1, hours=8),
                        "registration_closes_at": starts - timedelta(days=7),
                        "venue": "Hengdian International Training Centre, Dongyang",
                        "capacity": capacity,
                        "interpretation": interpretation,
                    },
                )
                created += new
        created += self._demo_staff()
        if not User.objects.filter(email=CREW_EMAIL).exists():
            crew = Crew.objects.create(
                name="Red Lantern Pictures", contact_phone="+86 571 8800 1234", country="CN"
            )
            User.objects.create_user(
                email=CREW_EMAIL,
                password=DEMO_PASSWORD,
                first_name="Line producer",
                crew=crew,
                crew_role=User.CrewRole.OWNER,
            )
            created += 1
        created += self._demo_bookings()
        created += self._demo_enrolments()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} rows created)."))
        self.stdout.write(f"  Crew owner:   {CREW_EMAIL} / {DEMO_PASSWORD}  (http://127.0.0.1:8000/)")
        self.stdout.write(f"  Studio desk:  {STAFF_EMAIL} / {DEMO_PASSWORD}  (booking and workshop desk)")
        self.stdout.write(
            f"  Visa desk:    {VISA_EMAIL} / {DEMO_PASSWORD}  (visa officer: passport data, letters)"
        )
        self.stdout.write(
            "  Staff open http://127.0.0.1:8000/admin/ with the password, then a code from an authenticator."
        )
        if settings.DEBUG:
            key = b32encode(unhexlify(DEMO_TOTP_KEY)).decode()
            self.stdout.write(f"  Demo authenticator key (time-based, both staff logins): {key}")
            self.stdout.write(
                "  or print the current code: DJANGO_DEBUG=1 .venv/bin/python manage.py demo_totp_code"
            )

    def _demo_staff(self) -> int:
        created = 0
        for email, name, role_names in DEMO_STAFF:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email, password=DEMO_PASSWORD, first_name=name, is_staff=True
                )
                created += 1
            user.groups.add(*Group.objects.filter(name__in=role_names))
            # A known authenticator only where the demo runs: in production
            # staff enrol their own device at their first log-in.
            if settings.DEBUG and not TOTPDevice.objects.filter(user=user).exists():
                TOTPDevice.objects.create(
                    user=user, name="Demo authenticator", key=DEMO_TOTP_KEY, confirmed=True
                )
        return created

    def _demo_enrolments(self) -> int:
        """Fill the small Spanish-language session, so its waiting list can be tried."""
        session = Session.objects.filter(workshop__slug="acting-for-vertical-screens", language="es").first()
        if session is None or session.enrolments.exists():
            return 0
        now = timezone.now()
        for n in range(1, session.capacity + 2):
            waiting = n > session.capacity
            Enrolment.objects.create(
                session=session,
                full_name=f"Demo participant {n}",
                email=f"participant{n}@example.org",
                country_of_residence="MX",
                nationality="MX",
                role=Enrolment.Role.ACTOR,
                language="es",
                consented_at=now,
                status=Enrolment.Status.WAITLISTED if waiting else Enrolment.Status.CONFIRMED,
                waitlist_order=1 if waiting else None,
                confirmed_at=None if waiting else now,
            )
        return session.capacity + 1

    def _demo_bookings(self) -> int:
        """A confirmed and a requested booking, so calendars and the occupancy page show something."""
        member = User.objects.get(email=CREW_EMAIL)
        if member.crew.bookings.exists():
            return 0
        staff = User.objects.get(email=STAFF_EMAIL)
        today = timezone.localdate()
        monday = today + timedelta(days=7 - today.weekday())
        cameras = services.ItemRequest(Equipment.objects.get(slug="vertical-camera-kit"), 2)
        gimbal = services.ItemRequest(Equipment.objects.get(slug="three-axis-gimbal"), 1)
        plan = services.shoot_plan_request(
            crew=member.crew,
            parts=[
                services.SetRequest(
                    StudioSet.objects.get(slug="ming-qing-palace-hall"),
                    DayRange(monday, monday + timedelta(days=2)),
                    [cameras, gimbal],
                ),
                services.SetRequest(
                    StudioSet.objects.get(slug="hong-kong-street-1980s"),
                    DayRange(monday + timedelta(days=3), monday + timedelta(days=6)),
                    [cameras, gimbal],
                ),
            ],
            by=member,
            notes="Episodes 1-12: palace scenes first, then the street.",
        )
        services.booking_confirm(booking=plan.bookings.order_by("start_date").first(), by=staff)
        return plan.bookings.count()
