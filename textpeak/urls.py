from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from textpeak import health, scrape, views

admin.site.site_header = "TextPeak support"
admin.site.site_title = "TextPeak support"
admin.site.index_title = "Accounts, beta access and streams"

urlpatterns = [
    # First, as they are the busiest: programs call these many times a second.
    path("api/", include("whatsapp.api.urls")),
    path("webhooks/whatsapp/", include("whatsapp.inbound.urls")),
    path("", RedirectView.as_view(pattern_name="streams:list"), name="home"),
    path("", include("textpeak.accounts.urls")),
    path("streams/", include("streams.urls")),
    path("streams/<uuid:uid>/webhook/", include("webhooks.urls")),
    path("", include("whatsapp.console.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", scrape.metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
]
