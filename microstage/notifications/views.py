"""The account page where a person chooses email and/or SMS and confirms their phone by code."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from microstage import services as account_services
from microstage.errors import ServiceError
from microstage.models import User

from . import services


class PreferencesForm(forms.Form):
    email = forms.BooleanField(required=False, label=gettext_lazy("Email me"))
    sms = forms.BooleanField(
        required=False,
        label=gettext_lazy("Text me (SMS)"),
        help_text=gettext_lazy(
            "Used once your number is confirmed. Messages that matter only: your "
            "waiting-list offer, doors open, the stream is live, a drop you asked about "
            "is open, your group-buy succeeded."
        ),
    )
    phone = forms.CharField(
        required=False,
        max_length=32,
        label=gettext_lazy("Mobile number"),
        help_text=gettext_lazy("International format, starting with + and the country code: +4915112345678."),
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "placeholder": "+4915112345678"}
        ),
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False,
                                 choices=User._meta.get_field("language").choices,
                                 help_text=gettext_lazy("Your pages, emails and text messages are in this language."))


class ConfirmForm(forms.Form):
    code = forms.CharField(max_length=12, label=gettext_lazy("Code from the SMS"),
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                         "pattern": "[0-9 ]*"}))


def _apply_errors(form, exc: ServiceError) -> None:
    fields = getattr(exc, "fields", {}) or {}
    for name, msgs in fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not fields:
        form.add_error(None, exc.detail)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    pref = services.preferences_of(request.user)
    form = PreferencesForm(initial={"email": pref.email, "sms": pref.sms, "phone": pref.phone})
    confirm = ConfirmForm()
    language = LanguageForm(initial={"language": request.user.language})
    status = 400
    action = request.POST.get("action") if request.method == "POST" else None
    try:
        if action == "save":
            form = PreferencesForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                _pref, code_sent = services.update_preferences(request.user, email=data["email"], sms_on=data["sms"],
                                                           phone=data["phone"])
                messages.success(request, gettext("We sent a code to your phone: type it below to confirm the number.")
                                 if code_sent else gettext("Your notification settings are saved."))
                return redirect("notification-preferences")
        elif action == "language":
            language = LanguageForm(request.POST)
            if language.is_valid():
                account_services.set_account_language(request.user, language.cleaned_data["language"])
                if request.user.language:
                    translation.activate(request.user.language)
                messages.success(request, gettext("Your language is saved."))
                return redirect("notification-preferences")
        elif action == "confirm":
            confirm = ConfirmForm(request.POST)
            if confirm.is_valid():
                services.confirm_phone(request.user, confirm.cleaned_data["code"])
                messages.success(request, gettext("Your number is confirmed."))
                return redirect("notification-preferences")
        elif action == "resend":
            services.resend_code(request.user)
            messages.success(request, gettext("A new code is on its way."))
            return redirect("notification-preferences")
        elif request.method == "POST":
            form.add_error(None, gettext("Unknown action."))
    except ServiceError as exc:
        _apply_errors(confirm if action == "confirm" else language if action == "language" else form, exc)
        status = exc.status
    if request.method == "POST":
        pref.refresh_from_db()
    else:
        status = 200
    return render(request, "microstage/notifications.html", {
        "form": form, "confirm": confirm, "language_form": language, "pref": pref, "tab": "notifications"},
        status=status)
