import re
from datetime import date

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout, Submit
from django import forms
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bookings.validators import validate_single_line
from bookings.widgets import DateInput

from .models import Enrolment, Session

PASSPORT_FIELDS = ("passport_number", "passport_expiry", "date_of_birth")
PASSPORT_NUMBER = re.compile(r"^[A-Z0-9]{5,20}$")


class EnrolmentForm(forms.ModelForm):
    """The public registration form. It validates; the service decides confirmed or waiting list."""

    consent = forms.BooleanField(
        label=_(
            "I agree that Hengdian World Studios stores these details to run the workshop and, "
            "if I ask for one, to issue my visa invitation letter."
        ),
        error_messages={"required": _("Please agree to the processing of your data to register.")},
    )
    # A honeypot: hidden from people, filled in by bots that fill in everything.
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    class Meta:
        model = Enrolment
        fields = [
            "full_name",
            "email",
            "nationality",
            "country_of_residence",
            "role",
            "experience",
            "language",
            "needs",
            "needs_visa_letter",
            *PASSPORT_FIELDS,
        ]
        labels = {"needs_visa_letter": _("I need a visa invitation letter")}
        help_texts = {
            "full_name": _("Exactly as printed in your passport."),
            "experience": _("A few lines about your work in film, theatre or online video."),
            "language": _("We write to you in this language."),
            "passport_expiry": _(
                "China requires a passport valid for at least six months after your arrival."
            ),
        }
        widgets = {
            "experience": forms.Textarea(attrs={"rows": 3, "maxlength": 1000}),
            "needs": forms.Textarea(attrs={"rows": 2, "maxlength": 1000}),
            "passport_expiry": DateInput(),
            "date_of_birth": DateInput(),
        }

    def __init__(self, *args, session: Session, full: bool = False, **kwargs):
        super().__init__(*args, instance=Enrolment(session=session), **kwargs)
        self.session = session
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"
        # Refused before clean_full_name folds whitespace: a pasted tab or line break is
        # reported, not silently changed in a name that must match the passport.
        self.fields["full_name"].validators.append(validate_single_line)
        self.fields["passport_number"].widget.attrs["autocomplete"] = "off"
        self.fields["website"].widget.attrs.update(tabindex="-1", autocomplete="off")
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset(
                _("About you"),
                "full_name",
                "email",
                Div(
                    Div("nationality", css_class="col-md-6"),
                    Div("country_of_residence", css_class="col-md-6"),
                    css_class="row",
                ),
                Div(
                    Div("role", css_class="col-md-6"), Div("language", css_class="col-md-6"), css_class="row"
                ),
                "experience",
                "needs",
            ),
            Fieldset(
                _("Visa"),
                "needs_visa_letter",
                Div(
                    HTML(
                        format_html(
                            '<p class="small text-muted">{}</p>',
                            _("Used only for your invitation letter, and shown only to studio staff."),
                        )
                    ),
                    *PASSPORT_FIELDS,
                    css_id="passport-fields",
                ),
            ),
            "consent",
            Div("website", css_class="hp-field", aria_hidden="true"),
            Submit(
                "register",
                _("Join the waiting list") if full else _("Register"),
                css_class="btn-primary btn-lg",
            ),
        )

    def clean_full_name(self) -> str:
        name = " ".join(self.cleaned_data["full_name"].split())
        if not name:
            raise forms.ValidationError(_("Enter your full name as in your passport."))
        return name

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_passport_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["passport_number"]).upper()
        if number and not PASSPORT_NUMBER.match(number):
            raise forms.ValidationError(
                _("Enter the passport number as printed: 5 to 20 letters and digits.")
            )
        return number

    def clean_date_of_birth(self) -> date | None:
        born = self.cleaned_data["date_of_birth"]
        if born and not (date(1900, 1, 1) <= born < timezone.localdate()):
            raise forms.ValidationError(_("Enter your real date of birth."))
        return born

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("needs_visa_letter"):
            # Not asked for a letter: passport data is neither required nor kept.
            for name in PASSPORT_FIELDS:
                cleaned[name] = "" if name == "passport_number" else None
                self.errors.pop(name, None)
            return cleaned
        for name in PASSPORT_FIELDS:
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, _("Needed for your invitation letter."))
        expiry = cleaned.get("passport_expiry")
        session_ends = timezone.localtime(self.session.ends_at).date()
        if expiry and expiry < timezone.localdate():
            self.add_error("passport_expiry", _("This passport has expired."))
        elif expiry and expiry < session_ends:
            self.add_error("passport_expiry", _("This passport expires before the workshop ends."))
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in self.Meta.fields}
