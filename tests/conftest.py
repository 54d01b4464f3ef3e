import os

import hypothesis
import pytest
from django.core.cache import cache
from django.core.files.storage import storages
from django.test import override_settings
from django.utils import translation

from bookings import notifications
from hengdian.celery import app as celery_app
from workshops.models import InvitationLetter

from .auth import login_staff
from .factories import CrewMemberFactory, CrewOwnerFactory, StaffFactory


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Hash test passwords cheaply: the real hasher's cost is the point in production and
    about 0.3 s per user here. Log-ins still check the password; only the work factor differs."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process unless a test starts a real worker on Redis."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _broker_not_paused():
    """A test that cut off the broker must not leave this process skipping the next tests' sends."""
    notifications._broker_paused_until = 0.0
    yield
    notifications._broker_paused_until = 0.0


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware leaves a request's language active in the thread after the response;
    a test that asked for a page in Spanish must not make the next one Spanish."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path, monkeypatch):
    """Invitation letters go to a folder of the test's own, never the developer's var/private."""
    location = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    # A FileField resolves a callable storage once, when the model is imported.
    monkeypatch.setattr(InvitationLetter._meta.get_field("pdf"), "storage", storages["private"])
    return location


@pytest.fixture
def crew_owner(db):
    return CrewOwnerFactory()


@pytest.fixture
def crew_member(crew_owner):
    """A member of the same crew as ``crew_owner``."""
    return CrewMemberFactory(crew=crew_owner.crew)


@pytest.fixture
def other_crew_member(db):
    return CrewOwnerFactory()


@pytest.fixture
def staff_admin(db):
    return StaffFactory()


@pytest.fixture
def owner_client(client, crew_owner):
    client.force_login(crew_owner)
    return client


@pytest.fixture
def staff_client(client, staff_admin):
    """The admin, as a superuser who has completed the staff log-in."""
    return login_staff(client, staff_admin)


# The fuzz test's budget (tests/test_fuzz.py). "ci" runs the same examples every
# time, 200 per form (more for the cheap ones), about a minute and a half in all; "deep"
# searches longer and at random: HYPOTHESIS_PROFILE=deep pytest tests/test_fuzz.py.
hypothesis.settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        # The examples share one test's database on purpose: rows pile up as they would in use.
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.data_too_large,
    ],
)
hypothesis.settings.register_profile(
    "deep", parent=hypothesis.settings.get_profile("ci"), max_examples=2000, derandomize=False
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
