"""Dashboard page where the creator's team edits an event's consent form and sees the answers so far."""
import re

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy as _

from microstage.errors import Invalid, ServiceError
from microstage.models import DOOR_ROLES

from . import consent
from .dashboard_views import event_page


class QuestionRowForm(forms.Form):
    text = forms.CharField(required=False, max_length=consent.MAX_TEXT, label=_("Question"),
                           widget=forms.TextInput(attrs={"placeholder": _("May we record you for the replay?")}))
    key = forms.CharField(required=False, max_length=40, label=_("Short name"),
                          help_text=_("Used in the CSV and the API; made from the question when empty."))
    required = forms.BooleanField(required=False, label=_("An answer is required"))

    def clean(self):
        data = super().clean()
        text, key = (data.get("text") or "").strip(), (data.get("key") or "").strip()
        if key and not text:
            self.add_error("text", gettext("Write the question, or clear this row."))
        if text and not key:
            data["key"] = re.sub(r"[^a-z0-9_]", "", slugify(text).replace("-", "_"))[:40] or "question"
            if not data["key"][0].isalpha():
                data["key"] = ("q_" + data["key"])[:40]
        return data


QuestionFormSet = forms.formset_factory(QuestionRowForm, extra=0, max_num=consent.MAX_QUESTIONS,
                                        validate_max=True, absolute_max=consent.MAX_QUESTIONS + 5)


def _initial(event) -> list[dict]:
    rows = consent.questions_of(event) or consent.SUGGESTED
    return [{"text": q["text"], "key": q["key"], "required": q.get("required", False)} for q in rows] \
        + [{} for _ in range(max(0, min(2, consent.MAX_QUESTIONS - len(rows))))]


@event_page(DOOR_ROLES)
def consent_form(request, event):
    """Owners and managers edit; the door team sees the counts (they meet the guests)."""
    formset = QuestionFormSet(initial=_initial(event), prefix="q")
    status = 200
    if request.method == "POST":
        if not request.can_edit:
            messages.error(request, gettext("Only owners and managers can change the consent form."))
            return redirect("dash-consent", event.pk)
        formset = QuestionFormSet(request.POST, prefix="q")
        status = 400
        if formset.is_valid():
            questions = [{"key": f.cleaned_data["key"], "text": f.cleaned_data["text"].strip(), "kind": "yes_no",
                          "required": f.cleaned_data["required"]}
                         for f in formset.forms if (f.cleaned_data.get("text") or "").strip()]
            try:
                consent.set_consent_form(event, questions, actor=request.user)
            except Invalid as exc:
                _row_errors(formset, exc)
            except ServiceError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(
                    request, gettext("Consent form saved.") if questions else gettext("Consent form removed.")
                )
                return redirect("dash-consent", event.pk)
    summary = consent.summary(event)
    return render(request, "events/dashboard/consent.html", {
        "event": event, "formset": formset, "summary": summary, "rows": consent.count_rows(event, summary),
        "can_edit": request.can_edit,
        "suggested": not consent.questions_of(event)}, status=status)


def _row_errors(formset, exc: Invalid) -> None:
    """Map `questions[i].field` errors back to the i-th non-empty row."""
    filled = [f for f in formset.forms if (f.cleaned_data.get("text") or "").strip()]
    for name, msgs in exc.fields.items():
        match = re.match(r"questions\[(\d+)\]\.?(\w*)", name)
        if match and int(match.group(1)) < len(filled):
            form, field = filled[int(match.group(1))], match.group(2)
            for msg in msgs:
                form.add_error(field if field in form.fields else None, msg)
        else:
            formset._non_form_errors = formset.non_form_errors() + msgs
