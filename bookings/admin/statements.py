"""Matching a bank statement to what it pays, for staff to confirm before anything is recorded.

One page, two steps: staff upload the statement's CSV and see each line that received money
beside what its message names (an invoice, a workshop place), ticked where the match is sure;
they untick what they doubt and record the rest, each line through its app's payments service
in its own transaction. Which references a line may name, and how a payment is recorded, is the
``matcher``'s: the invoices' here, the workshop places' in the workshops admin.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..statements import (
    StatementError,
    StatementLine,
    line_as_dict,
    line_from_dict,
    matches_sign,
    matches_unsign,
    statement_read,
)


@dataclass(frozen=True)
class Match:
    line: StatementLine
    target: int | None = None  # the primary key of what the line pays, if one was found
    label: str = ""  # what that is, for the person confirming
    problem: str = ""  # why the line is not ticked: no reference, already recorded …

    @property
    def proposed(self) -> bool:
        return self.target is not None and not self.problem


class Matcher:
    """One app's side of a statement: the references it looks for, what they name, how to record.

    ``pattern`` finds a reference in a line's message (or payer); ``entries`` is the payments
    model, whose ``target_field`` points at what is paid, for lines recorded before.
    """

    pattern: re.Pattern
    entries: type[models.Model]
    target_field: str
    no_reference: str = ""

    def reference(self, found: re.Match) -> str:
        """The stored form of a reference as found, however it was typed."""
        raise NotImplementedError

    def targets(self, references: set[str]) -> dict[str, models.Model]:
        """What the references name, by reference, in one query."""
        raise NotImplementedError

    def unknown(self, reference: str) -> str:
        raise NotImplementedError

    def label(self, target) -> str:
        raise NotImplementedError

    def problem(self, target) -> str:
        """Why a line for ``target`` should not be ticked; "" when it may be recorded."""
        return ""

    def record(self, line: StatementLine, target: int, *, by) -> None:
        """Record ``line`` as a payment for ``target``; raise an exception whose text says why not."""
        raise NotImplementedError

    def _reference(self, line: StatementLine) -> str | None:
        found = self.pattern.search(line.text) or self.pattern.search(line.payer)
        return self.reference(found) if found else None

    def match_all(self, lines: Sequence[StatementLine]) -> list[Match]:
        """Every line beside what it pays, in a fixed number of queries however long the statement."""
        references = {line.row: self._reference(line) for line in lines}
        targets = self.targets({ref for ref in references.values() if ref})
        # What was recorded from a statement before: the same money, day, payer and message.
        recorded = set(
            self.entries.objects.filter(**{f"{self.target_field}__in": targets.values()}).values_list(
                f"{self.target_field}_id", "amount", "paid_on", "payer_reference"
            )
        )
        matches = []
        for line in lines:
            reference = references[line.row]
            target = targets.get(reference)
            if reference is None:
                matches.append(Match(line, problem=str(self.no_reference)))
            elif target is None:
                matches.append(Match(line, problem=self.unknown(reference)))
            else:
                duplicate = (target.pk, line.amount, line.paid_on, line.payer_reference) in recorded
                problem = gettext("Already recorded.") if duplicate else self.problem(target)
                matches.append(Match(line, target=target.pk, label=self.label(target), problem=problem))
        return matches


class StatementUploadForm(forms.Form):
    statement = forms.FileField(
        label=_("Bank statement (CSV)"),
        help_text=_(
            "Exported from the bank for the days to match: a header row with the date, the amount and "
            "the transfer's message (e.g. 交易日期, 金额, 附言), in UTF-8 or GB18030. Only money received "
            "is read; nothing is recorded before you confirm."
        ),
    )

    def clean_statement(self):
        upload = self.cleaned_data["statement"]
        try:
            self.lines = statement_read(upload.read())
        except StatementError as exc:
            raise forms.ValidationError(str(exc), code="unreadable") from exc
        if not self.lines:
            raise forms.ValidationError(_("The file holds no money received."), code="empty")
        return upload


def statement_view(
    model_admin,
    request: HttpRequest,
    *,
    matcher: Matcher,
    permission: str,
    title: str,
    done_url: str,
    errors: tuple[type[Exception], ...],
    describe: Callable[[], str] = str,
) -> HttpResponse:
    """The two steps of matching a statement; ``errors`` are the service's own refusals."""
    if not request.user.has_perm(permission):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": title,
        "cancel_url": done_url,
        "intro": describe(),
    }
    if request.method == "POST" and "matches" in request.POST:
        try:
            matches = matches_unsign(request.POST["matches"])
        except StatementError as exc:
            messages.error(request, str(exc))
            return redirect(request.path)
        chosen = set(request.POST.getlist("record"))
        recorded = 0
        for match in matches:
            if match["target"] is None or str(match["line"]["row"]) not in chosen:
                continue
            line = line_from_dict(match["line"])
            try:
                matcher.record(line, match["target"], by=request.user)
            except errors as exc:
                messages.error(request, gettext("Line %(row)d: %(error)s") % {"row": line.row, "error": exc})
            else:
                recorded += 1
        if recorded:
            messages.success(
                request,
                ngettext("%(count)d payment recorded.", "%(count)d payments recorded.", recorded)
                % {"count": recorded},
            )
        elif not chosen:
            messages.warning(request, gettext("Nothing was ticked, so nothing was recorded."))
        return redirect(done_url)
    bound = request.method == "POST"
    form = StatementUploadForm(request.POST if bound else None, request.FILES if bound else None)
    if form.is_bound and form.is_valid():
        matches = matcher.match_all(form.lines)
        context.update(
            matches=matches,
            signed=matches_sign(
                [{"line": line_as_dict(m.line), "target": m.target if m.proposed else None} for m in matches]
            ),
        )
        return TemplateResponse(request, "admin/statement_matches.html", context)
    context["form"] = form
    return TemplateResponse(
        request, "admin/statement_upload.html", context, status=400 if form.is_bound else 200
    )


class StatementAdminMixin:
    """A payments list's "Match a bank statement" page, at ``statement/``; the admin names its
    matcher, the permission to record, the service's refusals and the page's words."""

    statement_matcher: type[Matcher]
    statement_permission: str
    statement_errors: tuple[type[Exception], ...]
    statement_title: str
    statement_intro: str

    def statement_intro_text(self) -> str:
        return str(self.statement_intro)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "statement/",
                self.admin_site.admin_view(self.statement_view),
                name="{}_{}_statement".format(*info),
            ),
            *super().get_urls(),
        ]

    def statement_view(self, request: HttpRequest) -> HttpResponse:
        return statement_view(
            self,
            request,
            matcher=self.statement_matcher(),
            permission=self.statement_permission,
            title=str(self.statement_title),
            done_url=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
            errors=self.statement_errors,
            describe=self.statement_intro_text,
        )
