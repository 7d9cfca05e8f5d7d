"""Site-wide answers that belong to no app: the icon browsers ask for, and the page a person
sees on opening an address that only a button may send to."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe


@login_not_required
@require_safe
def favicon(request):
    """``/favicon.ico``, which browsers ask for on pages without a ``<link rel="icon">``
    (a JSON answer, an image): the logo, at its static (possibly hashed) address."""
    response = HttpResponseRedirect(static("img/logo.svg"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


class MethodNotAllowedPageMiddleware:
    """Django answers a GET to a POST-only view (``require_POST``, a class-based view without
    ``get``) with an empty 405; a person who opened such an address sees a page instead.

    A 405 that has a body (the API's JSON) is kept as it is; programs' own paths
    (``textpeak.lib.machine``) never come this far down the middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            page = render(request, "405.html", status=405)
            page["Allow"] = response["Allow"]
            return page
        return response
