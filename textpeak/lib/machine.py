"""Requests from programs go straight to their view.

The stream API (a stream token) and Meta's callbacks (a signature) are called by programs,
never by a browser: the middleware after this one (static files, sessions, CSRF, login,
messages, clickjacking, htmx, login throttling) has nothing to do for them, and running it
was a tenth of a send request's CPU. The middleware before it still applies: security headers
and the stream token's checks (``streams.api_auth``). Their views stay ``csrf_exempt`` and
``login_not_required``, so they are right under either path.

The paths are the project's own (``MACHINE_PATHS``) and the stream types'
(``StreamType.machine_paths``), gathered once when the middleware is built, after every app
has registered its types.
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve

from streams import types


class MachineEndpointsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.paths = tuple(settings.MACHINE_PATHS) + types.machine_paths()

    def __call__(self, request):
        if not request.path_info.startswith(self.paths):
            return self.get_response(request)
        # Django checks the Host header against ALLOWED_HOSTS in CommonMiddleware, skipped
        # here: checked now instead (a DisallowedHost is answered 400).
        request.get_host()
        try:
            match = resolve(request.path_info)
        except Resolver404:
            # A program reads the answer, not a page: say where the endpoints are.
            return JsonResponse(
                {
                    "detail": f"No endpoint at {request.path_info[:200]}. The API's endpoints "
                    "are listed at /api/docs; every path ends with a slash."
                },
                status=404,
            )
        request.resolver_match = match
        response = match.func(request, *match.args, **match.kwargs)
        # CommonMiddleware, skipped too, gives a response its length; without one the web
        # server would send it chunked.
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response
