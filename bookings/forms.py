from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Field, Fieldset, Layout, Submit
from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from .models import User, phone_validator


class SignupForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Email"), max_length=254)
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, validators=[phone_validator])
    country = LazyTypedChoiceField(label=_("Country"), choices=countries)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "---------"), *countries]
        self.helper = FormHelper()
        self.helper.layout = Layout(
            Fieldset(_("Your company"), "company_name", "contact_phone", "country"),
            Fieldset(
                _("Your account"),
                "full_name",
                Field("email", autocomplete="email"),
                "password1",
                "password2",
            ),
            Submit("submit", _("Create account"), css_class="btn-primary w-100"),
        )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email address already exists."))
        return email

    def clean_company_name(self) -> str:
        name = self.cleaned_data["company_name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your company's name."))
        return name

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords do not match."))
        elif p1:
            probe = User(email=cleaned.get("email") or "", first_name=cleaned.get("full_name") or "")
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class MemberAddForm(forms.Form):
    full_name = forms.CharField(label=_("Name"), max_length=150)
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
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("This email address already has an account."))
        return email
