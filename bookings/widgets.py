from html import escape

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe


class DateInput(forms.DateInput):
    """A browser date picker, ``<input type="date">``.

    Browsers accept only ISO ``yyyy-mm-dd`` in its value, whatever the page's
    language: a localised value (``2027/01/11`` in Chinese, ``11/01/2027`` in
    Spanish) shows as an empty field and is submitted empty. The picker itself
    shows the date the reader's way. Parsing needs nothing special: Django's
    DateField accepts ISO dates in every language.
    """

    input_type = "date"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs, format="%Y-%m-%d")


class LongSelect(forms.Select):
    """A ``<select>`` with hundreds of options (the country lists), written in Python.

    Django's own Select renders one template include per option: for the two country
    lists of the registration form (about 250 options each) that was 500 includes and
    most of the page's 75 ms. This writes the same markup in one pass over the choices:
    the select's attributes as Django writes them, ``selected`` on the first option
    matching the value, and every value and label escaped.
    """

    def render(self, name, value, attrs=None, renderer=None):
        wanted = set(self.format_value(value))
        parts = []

        def add(choices):
            for option_value, label in choices:
                if isinstance(label, (list, tuple)):
                    parts.append(f'<optgroup label="{escape(str(option_value))}">')
                    add(label)
                    parts.append("</optgroup>")
                    continue
                option_value = "" if option_value is None else str(option_value)
                selected = option_value in wanted
                if selected and not self.allow_multiple_selected:
                    wanted.clear()
                parts.append(
                    f'<option value="{escape(option_value)}"{" selected" if selected else ""}>'
                    f"{escape(str(label))}</option>"
                )

        add(self.choices)
        final_attrs = self.build_attrs(self.attrs, attrs)
        options = mark_safe("".join(parts))  # noqa: S308 - every value and label above is escaped
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final_attrs), options)
