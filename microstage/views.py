"""Platform pages: health, the dashboard shell, creator settings, team and invitations."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import health, selectors, services
from .errors import ServiceError
from .forms import CreatorForm, CreatorSettingsForm, InviteForm, RoleForm
from .middleware import SESSION_KEY
from .models import EDIT_ROLES, Invitation
from .verification import ask_to_verify, has_verified_email


@never_cache
def healthz(request):
    parts, healthy = health.report()
    return JsonResponse(parts, status=200 if healthy else 503)


@never_cache
def healthz_ready(request):
    """Deploy readiness: a real worker round trip and no pending migrations (not for frequent polling)."""
    parts, healthy = health.ready_report()
    return JsonResponse(parts, status=200 if healthy else 503)


def team_page(roles=None):
    """Dashboard page for the current creator; sets request.creator and request.role."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            membership = request.team_membership
            if not membership:
                return redirect("dashboard")
            if roles is not None and membership.role not in roles:
                messages.error(request, _("Your role (%(role)s) cannot open that page.")
                               % {"role": membership.get_role_display()})
                return redirect("dashboard")
            request.creator, request.role = membership.creator, membership.role
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


@login_required
def dashboard(request):
    membership = request.team_membership
    if not membership:
        return render(request, "microstage/dashboard/welcome.html", {"form": CreatorForm()})
    from . import home

    # Each panel is rendered by its app's template (render_to_string: already safe HTML).
    return render(request, "microstage/dashboard/overview.html", {
        "creator": membership.creator, "role": membership.role,
        "panels": home.panels(request, membership.creator, membership.role)})


@login_required
def creator_new(request):
    form = CreatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            creator = services.create_creator(owner=request.user, name=form.cleaned_data["name"],
                                              slug=form.cleaned_data["slug"] or None, bio=form.cleaned_data["bio"])
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            request.session[SESSION_KEY] = creator.pk
            messages.success(request, _("%(name)s is ready. Next: create your first event.") % {"name": creator.name})
            return redirect("dashboard")
    return render(request, "microstage/dashboard/creator_new.html", {"form": form},
                  status=400 if form.errors else 200)


@require_POST
@login_required
def switch_creator(request):
    creator_id = request.POST.get("creator", "")
    if selectors.role_of(request.user, creator_id):
        request.session[SESSION_KEY] = creator_id
    else:
        messages.error(request, _("You are not on that creator's team."))
    return redirect(request.POST.get("next") if _safe_next(request) else "dashboard")


@team_page(roles=EDIT_ROLES)
def creator_settings(request):
    creator = request.creator
    form = CreatorSettingsForm(request.POST or None, request.FILES or None,
                               initial={"name": creator.name, "bio": creator.bio})
    if request.method == "POST" and form.is_valid():
        services.update_creator(creator, actor=request.user, name=form.cleaned_data["name"],
                                bio=form.cleaned_data["bio"], avatar=form.cleaned_data["avatar"] or None)
        messages.success(request, _("Saved."))
        return redirect("creator-settings")
    return render(request, "microstage/dashboard/settings.html", {"form": form, "creator": creator},
                  status=400 if form.errors else 200)


@team_page()
def team(request):
    creator = request.creator
    can_edit = request.role in EDIT_ROLES
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if not can_edit:
            messages.error(request, _("Only owners and managers can invite people."))
            return redirect("team")
        if form.is_valid():
            try:
                invitation = services.invite_to_team(creator=creator, actor=request.user,
                                                     **form.cleaned_data)
            except ServiceError as exc:
                form_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Invitation sent to %(email)s. They join once they accept it.") % {"email": invitation.email},
                )
                return redirect("team")
    return render(request, "microstage/dashboard/team.html", {
        "creator": creator, "form": form, "can_edit": can_edit, "role_form": RoleForm(),
        "team": selectors.team_of(creator),
        "invitations": creator.invitations.filter(status=Invitation.Status.PENDING),
    }, status=400 if form.errors else 200)


@require_POST
@team_page(roles=EDIT_ROLES)
def team_member(request, membership_id):
    try:
        if request.POST.get("action") == "remove":
            services.remove_from_team(creator=request.creator, actor=request.user, membership_id=membership_id)
            messages.success(request, _("Removed from the team."))
        else:
            form = RoleForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose a role."))
            else:
                services.change_role(creator=request.creator, actor=request.user, membership_id=membership_id,
                                     role=form.cleaned_data["role"])
                messages.success(request, _("Role changed."))
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return redirect("team")


@require_POST
@team_page(roles=EDIT_ROLES)
def invitation_revoke(request, invitation_id):
    try:
        services.revoke_invitation(creator=request.creator, actor=request.user, invitation_id=invitation_id)
        messages.success(request, _("Invitation withdrawn."))
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return redirect("team")


def invitation(request, token):
    invite = get_object_or_404(Invitation.objects.select_related("creator"), token=token)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.accept_invitation(token=token, user=request.user)
        except ServiceError as exc:
            if exc.code == "email_unverified":
                ask_to_verify(request, invite.email)
                messages.info(
                    request,
                    _("We sent a confirmation link to %(email)s. Open it, then accept the invitation here.")
                    % {"email": invite.email},
                )
            else:
                messages.error(request, exc.detail)
        else:
            request.session[SESSION_KEY] = membership.creator_id
            messages.success(request, _("Welcome to %(name)s's team.") % {"name": membership.creator.name})
            return redirect("dashboard")
    return render(request, "microstage/invitation.html", {
        "invitation": invite,
        "verified": has_verified_email(request.user, invite.email)})


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = request.POST.get("next", "")
    return bool(nxt) and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure())


def form_errors(form, exc: ServiceError) -> None:
    fields = getattr(exc, "fields", {}) or {}
    for name, msgs in fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, msg)
    if not fields:
        form.add_error(None, exc.detail)
