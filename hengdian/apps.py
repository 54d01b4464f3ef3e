from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class HengdianConfig(AppConfig):
    """The project's own wiring as an app, for what spans bookings and workshops: the periodic
    sweep (tasks.py, found by Celery's autodiscovery) and the demo data (``seed_demo``)."""

    name = "hengdian"
    verbose_name = "Hengdian Studio Booking"


class StudioAdminConfig(AdminConfig):
    """Django's admin, with the studio's site (second factor, checked links) as the default site."""

    default_site = "hengdian.admin.StudioAdminSite"

    def ready(self) -> None:
        super().ready()
        from . import checks  # noqa: F401 - registers the deployment checks
        from .roles import sync_roles_after_migrate

        # Once per migrate: the admin is installed first, but by the time its
        # signal is sent every migration has run (sync_roles makes the permissions).
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="hengdian.sync_roles")
