"""Catalogue texts written by the studio, kept in every language of the site.

Each field gets a column per language (``name_en``, ``name_zh_hans``, ``name_es``);
reading ``name`` gives the active language's text, or the English one where a
translation is still empty. English is required wherever the field itself is.
"""

from modeltranslation import settings as mt_settings
from modeltranslation.translator import TranslationOptions, register
from modeltranslation.utils import build_localized_fieldname
from simple_history import register as track_history

from .models import Equipment, StudioSet


@register(StudioSet)
class StudioSetTranslationOptions(TranslationOptions):
    fields = ("name", "description", "location", "features")
    required_languages = ("en",)


@register(Equipment)
class EquipmentTranslationOptions(TranslationOptions):
    fields = ("name", "description")
    required_languages = ("en",)


# Tracked here, after their translated columns exist, so the history holds every language's text.
track_history(StudioSet)
track_history(Equipment)


def in_every_language(*lookups: str) -> list[str]:
    """``["name"]`` → ``["name_en", "name_zh_hans", "name_es"]``, e.g. for admin search_fields.

    A lookup through a relation (``studio_set__name``) is expanded on its last part.
    """
    return [
        build_localized_fieldname(lookup, code)
        for lookup in lookups
        for code in mt_settings.AVAILABLE_LANGUAGES
    ]
