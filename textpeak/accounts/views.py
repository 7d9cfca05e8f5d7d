from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from textpeak.accounts import beta
from textpeak.accounts.access import member_required


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


@login_not_required
def login_locked_out(request, original_response=None, credentials=None):
    """django-axes calls this when an e-mail and address pair has failed too often."""
    # Unbound on purpose: validating would authenticate again and count one more failure.
    form = LoginForm(request, initial={"username": request.POST.get("username", "")})
    context = {"form": form, "locked_out": True}
    return render(request, "accounts/login.html", context, status=429)


@require_POST
@member_required
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
