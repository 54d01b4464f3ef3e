"""Workshop texts in every language of the site (see bookings/translation.py)."""

from modeltranslation.translator import TranslationOptions, register
from simple_history import register as track_history

from .models import Session, Workshop


@register(Workshop)
class WorkshopTranslationOptions(TranslationOptions):
    fields = ("title", "summary", "description", "topics")
    required_languages = ("en",)


@register(Session)
class SessionTranslationOptions(TranslationOptions):
    fields = ("venue",)
    required_languages = ("en",)


# Tracked here, after its translated columns exist, so the history holds every language's venue.
track_history(Session, excluded_fields=["updated_at"])
