"""Account > Members: the list for everyone in the account; invitations, roles and removal for
its admins; and the invitation link that sets a new member's password."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET, require_POST

from textpeak.accounts import members
from textpeak.accounts.access import admin_required, member_required
from textpeak.accounts.forms import InviteForm, RoleForm
from textpeak.accounts.models import Member

TEMPLATE = "accounts/members.html"


def _member(request, member_id) -> Member:
    """A member of the signed-in member's account, or 404."""
    return get_object_or_404(
        Member.objects.select_related("user", "account"), pk=member_id, account=request.account
    )


def _page(request, invite_form: InviteForm) -> HttpResponse:
    context = {
        "members": members.member_list(account=request.account),
        "invite_form": invite_form,
        "roles": Member.Role.choices,
        "invitation_days": members.invitation_days(),
    }
    return render(request, TEMPLATE, context)


@member_required
@require_GET
def member_list(request):
    return _page(request, InviteForm())


@admin_required
@require_POST
def member_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            member = members.member_invite(
                account=request.account, invited_by=request.user, **form.cleaned_data
            )
        except members.MemberRefused as refusal:
            form.add_error("email", str(refusal))
        else:
            messages.success(request, f"Invitation sent to {member.user.email}.")
            return redirect("members")
    return _page(request, form)


@admin_required
@require_POST
def member_resend(request, member_id):
    member = _member(request, member_id)
    try:
        members.member_invitation_resend(member=member, invited_by=request.user)
    except members.MemberRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Invitation sent again to {member.user.email}.")
    return redirect("members")


@admin_required
@require_POST
def member_role(request, member_id):
    member = _member(request, member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Admin or Member.")
        return redirect("members")
    try:
        member = members.member_role_change(member=member, role=form.cleaned_data["role"])
    except members.MemberRefused as refusal:
        messages.error(request, str(refusal))
    else:
        role = "an admin" if member.is_admin else "a member"
        messages.success(request, f"{member.user.email} is now {role}.")
    return redirect("members")


@admin_required
def member_remove(request, member_id):
    """GET asks first (a pop-up on the page, or a page of its own without JavaScript)."""
    member = _member(request, member_id)
    if request.method != "POST":
        template = "accounts/confirm_remove_member.html"
        if request.htmx:
            template += "#dialog"
        return render(request, template, {"member": member})
    try:
        members.member_remove(member=member)
    except members.MemberRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{member.user.email} was removed from {member.account.name}.")
    return redirect("members")


class InvitationAccept(auth_views.PasswordResetConfirmView):
    """The link of an invitation e-mail: Django's password-reset confirmation (the token moves
    from the URL to the session before the form is shown), with the invitation's own tokens;
    the new member is logged in once the password is set."""

    template_name = "accounts/invitation.html"
    token_generator = members.invitation_tokens
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("streams:list")

    def form_valid(self, form):
        response = super().form_valid(form)
        member = getattr(self.user, "member", None)
        if member is not None:
            messages.success(self.request, f"Welcome to {member.account.name}.")
        return response


invitation_accept = InvitationAccept.as_view()
