import pytest
from django.core.cache import cache

from hengdian.celery import app as celery_app

from .factories import CrewMemberFactory, CrewOwnerFactory, StaffFactory


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process unless a test starts a real worker on Redis."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


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
