from django.apps import AppConfig


class HengdianConfig(AppConfig):
    """The project's wiring as an app, so its system checks are registered at start-up."""

    name = "hengdian"
    verbose_name = "Hengdian Studio Booking"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deployment checks)
