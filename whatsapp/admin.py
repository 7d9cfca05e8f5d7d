from django.contrib import admin

from whatsapp.models import InboundPayload, Message, Sender, Template, WhatsAppAccount


class SenderInline(admin.TabularInline):
    model = Sender
    extra = 0
    fields = ("display_phone_number", "verified_name", "quality_rating", "throughput")
    readonly_fields = fields


class TemplateInline(admin.TabularInline):
    model = Template
    extra = 0
    fields = ("name", "language", "category", "status")
    readonly_fields = fields


@admin.register(WhatsAppAccount)
class WhatsAppAccountAdmin(admin.ModelAdmin):
    """What support needs to help a customer; the token and app secret show as last 4 only."""

    list_display = ("stream", "business_id", "business_name", "verified_at", "token_rejected_at")
    search_fields = ("business_id", "business_name", "stream__name", "stream__uid")
    list_select_related = ("stream",)
    fields = (
        "stream",
        "business_id",
        "business_name",
        "access_token_last4",
        "app_secret_last4",
        "verified_at",
        "token_rejected_at",
        "refreshed_at",
        "callback_registered_at",
        "callback_error",
    )
    readonly_fields = fields
    inlines = [SenderInline, TemplateInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("uuid", "stream", "direction", "type", "status", "contact_number", "created_at")
    list_filter = ("status", "direction", "type")
    search_fields = ("uuid", "wamid", "internal_id", "contact_number", "stream__name")
    list_select_related = ("stream",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Message._meta.fields]


@admin.register(InboundPayload)
class InboundPayloadAdmin(admin.ModelAdmin):
    """Meta POSTs not stored yet: a moment's backlog, or one that failed every attempt (its
    error says why; the body is Meta's JSON as it arrived)."""

    list_display = ("pk", "stream", "received_at", "attempts", "last_error")
    list_select_related = ("stream",)
    readonly_fields = ("stream", "received_at", "attempts", "last_error", "body_text")
    exclude = ("body",)

    @admin.display(description="Body")
    def body_text(self, payload):
        return bytes(payload.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
