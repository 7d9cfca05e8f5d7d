from django.contrib import admin

from streams import types
from streams.models import Stream, Tag


class DeletedFilter(admin.SimpleListFilter):
    """Deleted streams stay in the database for their message history; support tells them
    apart here, as the account no longer sees them."""

    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "No"), ("yes", "Yes")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class TypeFilter(admin.SimpleListFilter):
    """The registered stream types, by the name the product shows."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(stream_type.slug, stream_type.name) for stream_type in types.all_types()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(type=self.value())
        return queryset


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "type_label", "state", "is_demo", "created_at", "deleted_at")
    list_filter = (DeletedFilter, "status", TypeFilter, "is_demo")
    search_fields = ("name", "uid", "account__name", "token_prefix")
    list_select_related = ("account",)
    readonly_fields = (
        "uid",
        "type_label",
        "state",
        "token_prefix",
        "old_token_prefix",
        "old_token_expires_at",
        "setup_progress",
        "created_at",
        "updated_at",
    )
    # The type is fixed at creation (its setup steps and data depend on it): shown by its name.
    exclude = ("type",)
    autocomplete_fields = ("account",)
    filter_horizontal = ("tags",)

    def has_add_permission(self, request):
        # Streams are created in the console's wizard, which issues the token and sets up the
        # type's data; one added here would have neither.
        return False

    @admin.display(description="Type", ordering="type")
    def type_label(self, stream):
        return stream.type_label

    @admin.display(description="State", ordering="status")
    def state(self, stream):
        """The status, or Deleted: a deleted stream keeps the status it had, shown beside."""
        if stream.deleted_at:
            return f"Deleted (was {stream.get_status_display()})"
        return stream.get_status_display()


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "account")
    search_fields = ("name", "account__name")
    list_select_related = ("account",)
