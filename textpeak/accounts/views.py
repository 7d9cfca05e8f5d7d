from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST

from textpeak.accounts import beta, lockout
from textpeak.accounts.access import admin_required


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That e-mail address and password do not match. Check both and try again.",
    }


login = auth_views.LoginView.as_view(
    template_name="accounts/login.html",
    authentication_form=LoginForm,
    redirect_authenticated_user=True,
)
logout = auth_views.LogoutView.as_view()
password_change = auth_views.PasswordChangeView.as_view(
    template_name="accounts/password_change.html", success_url=reverse_lazy("password_change_done")
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="accounts/password_change_done.html"
)


LOCKOUT_REASONS = {
    lockout.Kind.EMAIL_AND_ADDRESS: (
        "Too many failed attempts for this e-mail address from your network."
    ),
    lockout.Kind.ADDRESS: (
        "Too many failed attempts for different e-mail addresses from your network, so logins "
        "from it are paused."
    ),
    lockout.Kind.EMAIL: (
        "Too many failed attempts for this e-mail address from different networks, so for now "
        "it can log in only from a network you have used recently."
    ),
}


@login_not_required
def login_locked_out(request, original_response, credentials=None):
    """django-axes calls this when it refused a login or a failure reached a limit: the same login
    page (the console's or admin's) says which lockout holds and for how long."""
    found = request.login_lockout
    minutes = found.minutes_left(now=timezone.now())
    message = (
        f"{LOCKOUT_REASONS[found.kind]} Try again in {minutes} minute{pluralize(minutes)}. "
        "TextPeak support can lift it sooner."
    )
    page = original_response
    # Unbound on purpose: validating would authenticate again and count one more failure.
    form = type(page.context_data["form"])(
        request, initial={"username": request.POST.get("username", "")}
    )
    context = {**page.context_data, "form": form, "lockout_message": message}
    return TemplateResponse(request, page.template_name, context, status=429).render()


@admin_required
@require_POST
def beta_request(request, feature):
    if feature not in beta.Feature.values:
        raise Http404
    access_request, created = beta.beta_access_request(
        account=request.account, feature=feature, user=request.user
    )
    context = {
        "created": created,
        "access_request": access_request,
        "feature": beta.Feature(feature).label,
    }
    template = "accounts/beta_request_result.html"
    if request.htmx:
        template += "#result"
    return render(request, template, context)
