"""Counting the stream APIs' requests for /metrics: by URL route name, never the raw path
(a path carries message uuids), and by status, refusals of the token checks included."""

from django.urls import Resolver404, resolve

from streams.api_auth import API_PREFIX
from textpeak import metrics


def _route_name(request) -> str:
    match = request.resolver_match
    if match is None:
        # Refused before its view (a bad token, a rate limit): named all the same.
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "unknown"
    return match.url_name or "unknown"


class APIRequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(API_PREFIX):
            metrics.api_request(_route_name(request), response.status_code)
        return response
