from django.contrib import admin

from streams.models import Stream, Tag


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "type", "status", "is_demo", "created_at", "deleted_at")
    list_filter = ("status", "type", "is_demo")
    search_fields = ("name", "uid", "account__name", "token_prefix")
    list_select_related = ("account",)
    readonly_fields = ("uid", "token_prefix", "setup_progress", "created_at", "updated_at")
    autocomplete_fields = ("account",)
    filter_horizontal = ("tags",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "account")
    search_fields = ("name", "account__name")
    list_select_related = ("account",)
