from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from bookings.models import Crew, Equipment, KitComponent, StudioSet, User
from workshops.models import Enrolment, Session, Workshop

PASSWORD = "correct-horse-battery-staple"


class CrewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Crew

    name = factory.Sequence(lambda n: f"Vertical Pictures {n}")
    contact_phone = "+86 579 8655 0000"
    country = "CN"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Sequence(lambda n: f"Crew member {n}")
    password = factory.django.Password(PASSWORD)


class CrewMemberFactory(UserFactory):
    crew = factory.SubFactory(CrewFactory)
    crew_role = User.CrewRole.MEMBER


class CrewOwnerFactory(CrewMemberFactory):
    crew_role = User.CrewRole.OWNER


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class StaffMemberFactory(UserFactory):
    """Studio staff holding the given roles, e.g. ``StaffMemberFactory(roles=[VISA_OFFICER])``."""

    class Meta:
        skip_postgeneration_save = True  # adding groups needs no second save

    is_staff = True

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            groups = list(Group.objects.filter(name__in=extracted))
            assert len(groups) == len(extracted), f"unknown role in {extracted}"
            self.groups.add(*groups)


class StudioSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudioSet

    name = factory.Sequence(lambda n: f"Palace hall {n}")
    slug = factory.Sequence(lambda n: f"palace-hall-{n}")
    category = StudioSet.Category.PALACE
    daily_rate = Decimal("10000.00")


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    name = factory.Sequence(lambda n: f"Camera kit {n}")
    slug = factory.Sequence(lambda n: f"camera-kit-{n}")
    category = Equipment.Category.CAMERA_KIT
    daily_rate = Decimal("1200.00")
    stock = 3


class KitComponentFactory(factory.django.DjangoModelFactory):
    """One kind in a kit: ``KitComponentFactory(kit=package, component=led, quantity=2)``."""

    class Meta:
        model = KitComponent

    kit = factory.SubFactory(EquipmentFactory, stock=0)
    component = factory.SubFactory(EquipmentFactory)
    quantity = 1


class WorkshopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workshop

    title = factory.Sequence(lambda n: f"Micro-drama intensive {n}")
    slug = factory.Sequence(lambda n: f"micro-drama-intensive-{n}")
    summary = "A week on set."
    is_published = True


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    workshop = factory.SubFactory(WorkshopFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(days=4))
    registration_closes_at = factory.LazyAttribute(lambda o: o.starts_at - timedelta(days=7))
    venue = "Hengdian International Training Centre"
    language = Session.Language.ENGLISH
    capacity = 5


class EnrolmentFactory(factory.django.DjangoModelFactory):
    """A confirmed participant who asked for a visa letter (passport data present)."""

    class Meta:
        model = Enrolment

    session = factory.SubFactory(SessionFactory)
    full_name = factory.Sequence(lambda n: f"Participant Number{n}")
    email = factory.Sequence(lambda n: f"participant{n}@example.org")
    country_of_residence = "ZA"
    nationality = "ZA"
    role = Enrolment.Role.ACTOR
    language = "en"
    needs_visa_letter = True
    passport_number = factory.Sequence(lambda n: f"M{n:08d}")
    passport_expiry = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=3 * 365))
    date_of_birth = factory.LazyFunction(lambda: timezone.localdate().replace(year=1994))
    consented_at = factory.LazyFunction(timezone.now)
    status = Enrolment.Status.CONFIRMED
