from django import forms


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
