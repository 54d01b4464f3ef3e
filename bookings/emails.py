"""Emails about accounts, rendered in the recipient's language."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User


def member_invitation_send(*, user_id: int, invited_by_id: int) -> None:
    member = User.objects.select_related("crew").get(pk=user_id)
    if member.has_usable_password():
        return  # they have already chosen a password: the link is not needed
    invited_by = User.objects.get(pk=invited_by_id)
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(member.pk)),
            "token": default_token_generator.make_token(member),
        },
    )
    context = {
        "member": member,
        "invited_by": invited_by,
        "crew": member.crew,
        "set_password_url": f"{settings.SITE_URL}{path}",
        "valid_days": settings.PASSWORD_RESET_TIMEOUT // 86400,
    }
    with translation.override(member.language):
        subject = render_to_string("emails/member_invitation_subject.txt", context).strip()
        body = render_to_string("emails/member_invitation.txt", context)
    send_mail(subject, body, None, [member.email])
