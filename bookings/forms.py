from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Fieldset, Layout, Submit
from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import CountryField, LazyTypedChoiceField

from . import selectors, services
from .models import Crew, DayRange, Equipment, FapiaoRequest, StudioSet, User, phone_validator
from .validators import validate_single_line
from .widgets import DateInput, LongSelect


class CountryChoiceField(LazyTypedChoiceField):
    """A country list that checks a code by looking it up, not by walking 250 translated choices.

    Django's ChoiceField compares the value with every choice in turn; for a country that
    was most of the time it took to validate a registration.
    """

    widget = LongSelect

    def valid_value(self, value) -> bool:
        return str(value) in countries


def country_formfield(field, **kwargs):
    """A ModelForm's ``formfield_callback``: country fields get CountryChoiceField."""
    if isinstance(field, CountryField):
        return field.formfield(choices_form_class=CountryChoiceField, **kwargs)
    return field.formfield(**kwargs)


class SignupForm(forms.Form):
    """A new crew. No password here: the owner chooses one from the link emailed to the address."""

    full_name = forms.CharField(label=_("Your name"), max_length=150, validators=[validate_single_line])
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("We email you a link to choose your password and finish creating the account."),
    )
    company_name = forms.CharField(label=_("Company name"), max_length=200, validators=[validate_single_line])
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, validators=[phone_validator])
    country = CountryChoiceField(label=_("Country"), choices=countries)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "---------"), *countries]
        self.helper = FormHelper()
        # The page's own <form> wraps the fields (one form, not one nested in another).
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(_("Your company"), "company_name", "contact_phone", "country"),
            Fieldset(_("Your account"), "full_name", Field("email", autocomplete="email")),
            Submit("submit", _("Create account"), css_class="btn-primary w-100"),
        )

    def clean_email(self) -> str:
        # Whether the address already has an account is not this form's to say: see crew_signup.
        return self.cleaned_data["email"].strip().lower()

    def clean_company_name(self) -> str:
        name = self.cleaned_data["company_name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your company's name."))
        return name


class MemberAddForm(forms.Form):
    full_name = forms.CharField(label=_("Name"), max_length=150, validators=[validate_single_line])
    email = forms.EmailField(label=_("Email"), max_length=254)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Div(
                Div("full_name", css_class="col-md-5"),
                Div("email", css_class="col-md-5"),
                css_class="row",
            ),
        )

    def clean_email(self) -> str:
        # Whether the address already has an account is not this form's to say: see crew_member_add.
        return self.cleaned_data["email"].strip().lower()


class AccountForm(forms.ModelForm):
    """A person's own details. The email address is the log-in and is not changed here."""

    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone", "language"]
        help_texts = {
            "phone": _("So the studio can call you about a booking, e.g. +86 579 8655 0000."),
            "language": _("We write to you in this language, whatever language you use on the site."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Refused before clean_* folds whitespace: a pasted line break is reported, not hidden.
        for name in ("first_name", "last_name"):
            self.fields[name].validators.append(validate_single_line)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Div(
                Div("first_name", css_class="col-md-6"),
                Div("last_name", css_class="col-md-6"),
                css_class="row",
            ),
            "phone",
            "language",
        )

    def clean_first_name(self) -> str:
        return " ".join(self.cleaned_data["first_name"].split())

    def clean_last_name(self) -> str:
        return " ".join(self.cleaned_data["last_name"].split())

    def clean_phone(self) -> str:
        return self.cleaned_data["phone"].strip()


class EmailLanguageForm(forms.Form):
    """The one-click "write to me in this language too" offer after switching the site's language."""

    language = forms.ChoiceField(choices=settings.LANGUAGES)


class CrewForm(forms.ModelForm):
    """The company details the owner keeps up to date."""

    class Meta:
        model = Crew
        fields = ["name", "contact_phone", "country", "tax_id", "billing_address"]
        formfield_callback = country_formfield
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].validators.append(validate_single_line)
        self.fields["contact_phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout("name", "contact_phone", "country", "tax_id", "billing_address")

    def clean_tax_id(self) -> str:
        return " ".join(self.cleaned_data["tax_id"].split()).upper()

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Enter your company's name."))
        return name

    def clean_contact_phone(self) -> str:
        return self.cleaned_data["contact_phone"].strip()


# --- Booking -------------------------------------------------------------------


SEARCH_MAX_LENGTH = 100


def search_field() -> forms.CharField:
    return forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class CatalogueSearchForm(forms.Form):
    """Words to look for in the catalogue's texts, in the visitor's language (selectors.catalogue_search)."""

    q = search_field()


class SetFilterForm(forms.Form):
    q = search_field()
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("All categories")), *StudioSet.Category.choices]
    )
    vertical_ready = forms.BooleanField(label=_("Vertical-ready only"), required=False)
    max_rate = forms.DecimalField(
        label=_("Max. daily rate (CNY)"), required=False, min_value=0, max_digits=10, decimal_places=2
    )
    free_from = forms.DateField(label=_("Free from"), required=False, widget=DateInput())
    free_to = forms.DateField(label=_("to"), required=False, widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Div(
                Div("q", css_class="col-12"),
                Div("category", css_class="col-6 col-md-3"),
                Div("max_rate", css_class="col-6 col-md-2"),
                Div("free_from", css_class="col-6 col-md-2"),
                Div("free_to", css_class="col-6 col-md-2"),
                Div("vertical_ready", css_class="col-12 col-md-3 align-self-end"),
                css_class="row g-2",
            ),
            Submit("filter", _("Show sets"), css_class="btn-primary"),
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("free_from"), cleaned.get("free_to")
        if bool(start) != bool(end):
            self.add_error("free_to" if start else "free_from", _("Give both dates to see free sets."))
        elif start and end:
            try:
                services.booking_validate_days(days=DayRange(start, end), today=timezone.localdate())
            except services.BookingError as exc:
                self.add_error(exc.field if exc.field in ("free_to", "free_from") else "free_to", str(exc))
        return cleaned

    @property
    def days(self) -> DayRange | None:
        if self.is_valid() and self.cleaned_data.get("free_from"):
            return DayRange(self.cleaned_data["free_from"], self.cleaned_data["free_to"])
        return None


class DateRangeForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("To"), widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The last day cannot be before the first."))
            elif (end - start).days >= settings.BOOKING_MAX_DAYS:
                self.add_error("end", _("Choose at most %(max)d days.") % {"max": settings.BOOKING_MAX_DAYS})
        return cleaned


class BookingPartForm(forms.Form):
    """One set for a range of shoot days."""

    studio_set = forms.ModelChoiceField(
        label=_("Set"),
        queryset=StudioSet.objects.filter(is_active=True),
        to_field_name="slug",
        widget=LongSelect,  # every set of the studio, hundreds of them
    )
    start_date = forms.DateField(label=_("First shoot day"), widget=DateInput())
    end_date = forms.DateField(label=_("Last shoot day"), widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end:
            try:
                services.booking_validate_days(days=DayRange(start, end), today=timezone.localdate())
            except services.BookingError as exc:
                self.add_error(exc.field or "end_date", str(exc))
        return cleaned


class BookingChangeForm(BookingPartForm):
    """A live booking's set and days, as the crew wants them to become."""

    def __init__(self, *args, booking, **kwargs):
        self.booking = booking
        super().__init__(*args, **kwargs)
        # The booking's own set stays choosable even if the studio has since closed it to new requests.
        self.fields["studio_set"].queryset = StudioSet.objects.filter(
            Q(is_active=True) | Q(pk=booking.studio_set_id)
        )
        if booking.has_started(timezone.localdate()):
            # Shooting already: only the last day can move (later). The service says so if it is tried.
            self.fields["studio_set"].disabled = True
            self.fields["start_date"].disabled = True
            self.fields["start_date"].help_text = _("The shoot has started: you can add days at the end.")

    def clean(self):
        if self.booking.has_started(timezone.localdate()):
            return forms.Form.clean(self)  # past days are the booking's own; the service checks the rest
        return super().clean()


WHOLE_PLAN = "plan"
MAX_PARTS = 6

# Translated when shown, not when imported.
_set_only = lazy(lambda number: gettext("Set %(number)d only") % {"number": number}, str)


class BookingItemForm(forms.Form):
    """Units of one equipment kind, with one set of the request or with the whole plan.

    With the whole plan (the default: the equipment travels with the crew) the units are
    held once on each day any of the sets is shot; with one set, on that set's days only.
    """

    equipment = forms.ModelChoiceField(
        label=_("Equipment"),
        # With what each kit is made of: a kit's limit is what its components' stock makes.
        queryset=selectors.with_kit_parts(Equipment.objects.filter(is_active=True)),
        to_field_name="slug",
        widget=LongSelect,
    )
    quantity = forms.IntegerField(label=_("Units"), min_value=1, max_value=999, initial=1)
    part = forms.ChoiceField(
        label=_("Goes with"),
        initial=WHOLE_PLAN,
        required=False,
        choices=[
            (WHOLE_PLAN, _("The whole plan")),
            *((str(n), _set_only(n)) for n in range(1, MAX_PARTS + 1)),
        ],
    )

    def clean_part(self) -> str:
        # A line that does not say (an older page, a script) travels with the crew.
        return self.cleaned_data["part"] or WHOLE_PLAN

    # What was asked for, kept even when it is more than the studio owns: the quote
    # still prices it while the error next to the field says why it cannot be booked.
    requested: tuple[Equipment, int] | None = None

    def clean(self):
        cleaned = super().clean()
        equipment, quantity = cleaned.get("equipment"), cleaned.get("quantity")
        self.requested = (equipment, quantity) if equipment and quantity else None
        if equipment and quantity and quantity > equipment.lendable:
            if equipment.is_kit:
                message = _("The studio's equipment makes %(count)d of %(item)s.") % {
                    "count": equipment.lendable,
                    "item": equipment,
                }
            else:
                message = _("The studio owns %(stock)d units of %(item)s.") % {
                    "stock": equipment.stock,
                    "item": equipment,
                }
            self.add_error("quantity", forms.ValidationError(message, code="over_stock"))
        return cleaned


class BaseItemFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            equipment = form.cleaned_data.get("equipment")
            if equipment and not form.cleaned_data.get("DELETE"):
                if equipment.pk in seen:
                    form.add_error("equipment", _("Already listed above; change the quantity there."))
                seen.add(equipment.pk)


class BasePartFormSet(forms.BaseFormSet):
    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_few_forms": _("Choose at least one set and its shoot days."),
        "too_many_forms": _("A request can hold at most %(num)d sets; send the rest in another request."),
    }


# absolute_max: a forged form count builds no more forms than a request can hold
# (Django's default allows a thousand more, which took seconds to validate and render).
BookingPartFormSet = forms.formset_factory(
    BookingPartForm,
    formset=BasePartFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=MAX_PARTS,
    absolute_max=MAX_PARTS,
    validate_max=True,
)
BookingItemFormSet = forms.formset_factory(
    BookingItemForm,
    formset=BaseItemFormSet,
    extra=0,
    can_delete=True,
    max_num=20,
    absolute_max=20,
    validate_max=True,
)


class BookAgainForm(forms.Form):
    """The first shoot day of a plan booked again; every part keeps its offset from it."""

    start = forms.DateField(label=_("New first shoot day"), widget=DateInput())


class FapiaoForm(forms.Form):
    """A crew asks for the official fapiao of one of its invoices."""

    kind = forms.ChoiceField(
        label=_("Kind of fapiao"), choices=FapiaoRequest.Kind.choices, widget=forms.RadioSelect
    )
    email = forms.EmailField(
        label=_("Send the e-fapiao to"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    note = forms.CharField(
        label=_("Note for the finance department"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class BookingNotesForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes for the studio"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Anything the booking desk should know: special effects, night shoots, extra power."),
    )


# --- Staff log-in: the second factor ------------------------------------------------


class TwoFactorCodeForm(forms.Form):
    """A code from the authenticator app, or one of the backup codes."""

    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        help_text=_("The 6 digits your authenticator app shows now, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split()).replace("-", "")
        if not (code.isascii() and code.isalnum()):
            raise forms.ValidationError(_("Enter the code with digits and letters only."))
        return code.lower()
