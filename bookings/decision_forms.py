"""Forms for deciding and cancelling bookings: the crew's cancel page and the desk's decide pages.

They only validate; ``bookings.services`` applies the same rules again and does the writing.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import REASON_MAX_LENGTH


def reason_field(*, required: bool, label=None, help_text=None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Reason"),
        required=required,
        max_length=REASON_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=help_text,
    )


class CrewCancelForm(forms.Form):
    """The crew's cancellation: an optional reason, and the fee percentage they were shown."""

    reason = reason_field(
        required=False,
        label=_("Reason (optional)"),
        help_text=_("Tell the booking desk why, if you like."),
    )
    # Absent (a client that never showed the page), the fee is simply the one that applies.
    fee_percent = forms.IntegerField(min_value=0, max_value=100, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout("reason", "fee_percent")


class DecisionForm(forms.Form):
    """A decision in the admin; ``reason_required`` says whether the reason may be left empty."""

    def __init__(self, *args, reason_required: bool, reason_help=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"] = reason_field(required=reason_required, help_text=reason_help)
        self.order_fields(["reason"])


class StaffCancelForm(DecisionForm):
    """The studio cancels: a reason is required, and the desk may waive the fee with its own reason."""

    waive_fee = forms.BooleanField(label=_("Waive the fee"), required=False)
    waiver_reason = reason_field(
        required=False,
        label=_("Reason for waiving the fee"),
        help_text=_("Required when the fee is waived; the crew reads it."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("waive_fee") and not cleaned.get("waiver_reason"):
            self.add_error("waiver_reason", _("Say why the fee is waived."))
        return cleaned
