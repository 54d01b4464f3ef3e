"""Workshop texts in every language of the site (see bookings/translation.py)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Session, Workshop


@register(Workshop)
class WorkshopTranslationOptions(TranslationOptions):
    fields = ("title", "summary", "description", "topics")
    required_languages = ("en",)


@register(Session)
class SessionTranslationOptions(TranslationOptions):
    fields = ("venue",)
    required_languages = ("en",)
