"""Support staff's views of WhatsApp accounts, messages and Meta's kept POSTs."""

from django.contrib import admin, messages
from django.template.defaultfilters import pluralize

from whatsapp.inbound.payloads import payloads_retry
from whatsapp.models import (
    CredentialProblem,
    InboundPayload,
    Message,
    Sender,
    Template,
    WhatsAppAccount,
)


class SenderInline(admin.TabularInline):
    model = Sender
    extra = 0
    fields = (
        "display_phone_number",
        "verified_name",
        "quality_rating",
        "throughput",
        "messaging_limit",
        "quality_event",
        "quality_changed_at",
    )
    readonly_fields = fields


class CredentialProblemInline(admin.TabularInline):
    """What makes the stream Need attention, as its WhatsApp tab says it."""

    model = CredentialProblem
    extra = 0
    fields = ("kind", "detail", "detected_at", "notified_at")
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
    readonly_fields = (
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
        "health_checked_at",
    )
    # Support may turn the service window check off when a customer asks; the rest is read-only.
    fields = (*readonly_fields, "service_window_check")
    inlines = [CredentialProblemInline, SenderInline, TemplateInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("uuid", "stream", "direction", "type", "status", "contact_number", "created_at")
    list_filter = ("status", "direction", "type")
    search_fields = ("uuid", "wamid", "internal_id", "contact_number", "stream__name")
    list_select_related = ("stream",)
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Message._meta.fields]


class PayloadStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("failed", "Failed every attempt"), ("waiting", "Waiting to be stored")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(attempts__gte=InboundPayload.MAX_ATTEMPTS)
        if self.value() == "waiting":
            return queryset.filter(attempts__lt=InboundPayload.MAX_ATTEMPTS)
        return queryset


@admin.register(InboundPayload)
class InboundPayloadAdmin(admin.ModelAdmin):
    """Meta POSTs not stored yet: a moment's backlog, or one that failed every attempt (its
    error says why; the body is Meta's JSON as it arrived). Once the cause is mended, "Store
    again" gives the selected ones a fresh set of attempts."""

    list_display = ("pk", "stream", "received_at", "attempts", "last_error")
    list_filter = (PayloadStateFilter,)
    list_select_related = ("stream",)
    actions = ["store_again"]
    readonly_fields = ("stream", "received_at", "attempts", "last_error", "body_text")
    exclude = ("body",)

    @admin.action(description="Store again")
    def store_again(self, request, queryset):
        count = payloads_retry(payload_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            f"{count} payload{pluralize(count)} handed to a worker to be stored again; "
            "those that are stored leave this list.",
            messages.SUCCESS,
        )

    @admin.display(description="Body")
    def body_text(self, payload):
        return bytes(payload.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
