from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django_htmx.http import HttpResponseClientRedirect


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's, except that an htmx request whose session has ended reloads the whole page on
    the login form, instead of swapping the login page into part of the old one."""

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        if request.htmx:
            return HttpResponseClientRedirect(response.url)
        return response
