import re
from datetime import date

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout, Submit
from dateutil.relativedelta import relativedelta
from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from bookings.forms import country_formfield
from bookings.validators import validate_single_line
from bookings.widgets import DateInput

from .models import PASSPORT_FIELDS, Enrolment, Session

__all__ = [
    "PASSPORT_FIELDS",
    "EnrolmentEditForm",
    "EnrolmentForm",
    "StaffEnrolmentForm",
    "passport_expiry_needed",
]
PASSPORT_NUMBER = re.compile(r"^[A-Z0-9]{5,20}$")


def passport_expiry_needed(session: Session) -> date:
    """The first expiry date China accepts: six months after arrival, the session's first day."""
    arrival = timezone.localtime(session.starts_at).date()
    return arrival + relativedelta(months=6)


class ParticipantDetailsMixin:
    """The checks a participant's own details pass, on registration and when they edit them."""

    session: Session

    def clean_full_name(self) -> str:
        name = " ".join(self.cleaned_data["full_name"].split())
        if not name:
            raise forms.ValidationError(_("Enter your full name as in your passport."))
        return name

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

    def check_passport(self, cleaned: dict) -> None:
        """Every passport field given, and a passport China accepts for this session."""
        for name in PASSPORT_FIELDS:
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, _("Needed for your invitation letter."))
        expiry = cleaned.get("passport_expiry")
        needed = passport_expiry_needed(self.session)
        if expiry and expiry < timezone.localdate():
            self.add_error("passport_expiry", _("This passport has expired."))
        elif expiry and expiry < needed:
            self.add_error(
                "passport_expiry",
                _(
                    "China requires a passport valid for at least six months after your arrival: "
                    "for this session, until %(date)s or later."
                )
                % {"date": date_format(needed, "DATE_FORMAT")},
            )


class EnrolmentForm(ParticipantDetailsMixin, forms.ModelForm):
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
        formfield_callback = country_formfield
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

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def _get_validation_exclusions(self) -> set[str]:
        # Checked already, and not again by the model: the countries by this form's own
        # fields (the same list, walked name by name each time), and the passport rule by
        # clean() (the model would ask the database). The database constraint still stands.
        return super()._get_validation_exclusions() | {
            "nationality",
            "country_of_residence",
            "needs_visa_letter",
        }

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("needs_visa_letter"):
            # Not asked for a letter: passport data is neither required nor kept.
            for name in PASSPORT_FIELDS:
                cleaned[name] = "" if name == "passport_number" else None
                self.errors.pop(name, None)
            return cleaned
        self.check_passport(cleaned)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in self.Meta.fields}


EDITABLE_FIELDS = ("full_name", "language", "needs", "needs_visa_letter", *PASSPORT_FIELDS)


class EnrolmentEditForm(ParticipantDetailsMixin, forms.Form):
    """A participant changes their own enrolment from the private link.

    Passport details are never shown back (they are for staff and the letter
    only): the fields start empty, and empty means "keep what you gave".
    Filling them in replaces the details, checked as on registration. Once a
    letter is issued, new details are a request for a new letter.
    """

    # A plain form, not a ModelForm: it must not write into the enrolment it shows; the
    # service makes the change. The fields are the model's, with the registration's words.

    def __init__(self, *args, instance: Enrolment, letter_issued: bool, **kwargs):
        initial = {name: getattr(instance, name) for name in ("full_name", "language", "needs")}
        initial["needs_visa_letter"] = instance.needs_visa_letter
        super().__init__(*args, initial=initial, **kwargs)
        self.fields.update(
            forms.fields_for_model(
                Enrolment,
                fields=EDITABLE_FIELDS,
                labels=EnrolmentForm.Meta.labels,
                help_texts=EnrolmentForm.Meta.help_texts,
                widgets={
                    "needs": forms.Textarea(attrs={"rows": 2, "maxlength": 1000}),
                    "passport_expiry": DateInput(),
                    "date_of_birth": DateInput(),
                },
            )
        )
        self.instance = instance
        self.session = instance.session
        self.letter_issued = letter_issued
        for name in PASSPORT_FIELDS:
            self.fields[name].required = False
        self.fields["full_name"].validators.append(validate_single_line)
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"
        self.fields["passport_number"].widget.attrs["autocomplete"] = "off"
        has_passport = bool(instance.passport_number)
        if has_passport:
            self.fields["passport_number"].help_text = _(
                "On file: %(number)s. Leave the passport fields empty to keep the details you gave."
            ) % {"number": instance.masked_passport_number}
        if letter_issued:
            # The letter exists: asking for none is no longer a choice, a corrected one is.
            del self.fields["needs_visa_letter"]
            visa_title = _("A new invitation letter")
            visa_text = _(
                "Your letter has been issued. If your passport details were wrong or your passport has "
                "changed, enter the new details: the visa officer will issue a new letter."
            )
            visa_fields = ()
        else:
            visa_title = _("Visa")
            visa_text = _("Used only for your invitation letter, and shown only to studio staff.")
            visa_fields = ("needs_visa_letter",)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(_("About you"), "full_name", "language", "needs"),
            Fieldset(
                visa_title,
                HTML(format_html('<p class="small text-muted">{}</p>', visa_text)),
                *visa_fields,
                Div(*PASSPORT_FIELDS, css_id="passport-fields"),
            ),
        )

    def clean(self):
        cleaned = super().clean()
        wants_letter = self.letter_issued or cleaned.get("needs_visa_letter")
        if not wants_letter:
            for name in PASSPORT_FIELDS:
                cleaned[name] = "" if name == "passport_number" else None
                self.errors.pop(name, None)
            return cleaned
        given = any(cleaned.get(name) for name in PASSPORT_FIELDS) or any(
            name in self.errors for name in PASSPORT_FIELDS
        )
        if given or not self.instance.passport_number:
            self.check_passport(cleaned)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {name: data[name] for name in ("full_name", "language", "needs")}
        kwargs["needs_visa_letter"] = self.letter_issued or data.get("needs_visa_letter", False)
        if kwargs["needs_visa_letter"] and not any(data.get(name) for name in PASSPORT_FIELDS):
            kwargs["passport"] = None  # keep the details on file
        else:
            kwargs["passport"] = {name: data[name] for name in PASSPORT_FIELDS}
        return kwargs


class StaffEnrolmentForm(EnrolmentForm):
    """The registration form, filled in by the workshop desk for someone who phones or comes in.

    Without the visa officer's permission the passport fields are left out, and with them the
    letter: the participant asks for one later from their private link.
    """

    def __init__(self, *args, session: Session, sees_passport_data: bool, **kwargs):
        super().__init__(*args, session=session, **kwargs)
        del self.fields["website"]  # the honeypot is for bots on the public form
        self.fields["consent"].label = _(
            "The participant agrees that Hengdian World Studios stores these details to run the workshop "
            "and, if they ask for one, to issue their visa invitation letter."
        )
        self.fields["consent"].error_messages = {
            "required": _("Ask the participant to agree to the processing of their data first.")
        }
        self.fields["full_name"].help_text = _("Exactly as printed in the participant's passport.")
        self.fields["language"].help_text = _("The participant's emails are written in this language.")
        if not sees_passport_data:
            for name in ("needs_visa_letter", *PASSPORT_FIELDS):
                del self.fields[name]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in self.Meta.fields if name in self.fields}

    @property
    def participant_fields(self) -> list:
        return [field for field in self if field.name not in ("needs_visa_letter", *PASSPORT_FIELDS)]

    @property
    def passport_fields(self) -> list:
        return [self[name] for name in PASSPORT_FIELDS if name in self.fields]
