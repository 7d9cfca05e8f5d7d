from django.contrib import admin

from webhooks.models import WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """The endpoint's address; header values and the signing secret stay encrypted, unseen."""

    list_display = ("stream", "method", "url", "enabled", "updated_at")
    list_filter = ("method", "enabled")
    search_fields = ("url", "stream__name", "stream__uid")
    list_select_related = ("stream",)
    fields = ("stream", "method", "url", "enabled", "created_at", "updated_at")
    readonly_fields = fields
