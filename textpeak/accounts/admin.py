from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.template.response import TemplateResponse

from textpeak.accounts import beta, lockout
from textpeak.accounts.models import Account, AccountRetention, BetaAccessRequest, Member, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "last_login")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    # Also the order of the account autocomplete's pages (a stream's or member's account).
    ordering = ("name",)
    search_fields = ("name",)
    inlines = [MemberInline]


@admin.register(AccountRetention)
class AccountRetentionAdmin(admin.ModelAdmin):
    """An account's own retention periods, which support sets; an empty one follows its
    setting."""

    list_display = ("account", "content_days", "payload_days", "delivery_days", "message_days")
    list_select_related = ("account",)
    search_fields = ("account__name",)
    autocomplete_fields = ("account",)


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "account__name")
    list_select_related = ("user", "account")
    autocomplete_fields = ("user", "account")


class ReviewForm(forms.Form):
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Optional. A rejection note is shown to the account and sent in the e-mail.",
    )


class RevokeForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required: why the access ends. Shown to the account and sent in the e-mail.",
    )


@dataclass(frozen=True)
class Decision:
    """What support can decide about a request in a given status: an action of the list, and
    a button on the request's page that leads to the same confirmation."""

    label: str
    done: str
    applies_to: str
    form: type[forms.Form]
    # Called with request_ids, reviewer and note; returns how many requests changed.
    service: Callable[..., int]


Status = BetaAccessRequest.Status
DECISIONS = {
    "approve": Decision(
        "Approve",
        "Approved",
        Status.PENDING,
        ReviewForm,
        partial(beta.beta_access_review, approve=True),
    ),
    "reject": Decision(
        "Reject",
        "Rejected",
        Status.PENDING,
        ReviewForm,
        partial(beta.beta_access_review, approve=False),
    ),
    "revoke": Decision("Revoke", "Revoked", Status.APPROVED, RevokeForm, beta.beta_access_revoke),
}


@admin.register(BetaAccessRequest)
class BetaAccessRequestAdmin(admin.ModelAdmin):
    list_display = (
        "account",
        "requested_by",
        "feature",
        "status",
        "created_at",
        "reviewed_by",
        "reviewed_at",
    )
    list_filter = ("status", "feature")
    search_fields = ("account__name", "requested_by__email")
    list_select_related = ("account", "requested_by", "reviewed_by")
    readonly_fields = (
        "account",
        "feature",
        "status",
        "requested_by",
        "created_at",
        "reviewed_by",
        "reviewed_at",
        "revoked_by",
        "revoked_at",
        "notified_at",
    )
    fields = (*readonly_fields, "note")
    actions = list(DECISIONS)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # requests come from members, through the console

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A pending request's page offers Approve and Reject, an approved one's Revoke: they
        post the list's actions for this one request, so they lead to the same confirmation
        step and service call."""
        obj = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "review_actions": self._review_actions(request, obj),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _review_actions(self, request, obj):
        if obj is None:
            return []
        available = self.get_actions(request)
        return [
            {"name": name, "label": decision.label}
            for name, decision in DECISIONS.items()
            if decision.applies_to == obj.status and name in available
        ]

    @admin.action(description="Approve selected requests", permissions=["change"])
    def approve(self, request, queryset):
        return self._decide(request, queryset, "approve")

    @admin.action(description="Reject selected requests", permissions=["change"])
    def reject(self, request, queryset):
        return self._decide(request, queryset, "reject")

    @admin.action(description="Revoke selected approvals", permissions=["change"])
    def revoke(self, request, queryset):
        return self._decide(request, queryset, "revoke")

    def _decide(self, request, queryset, action):
        """Ask for a note on an intermediate page, then decide the requests it applies to."""
        decision = DECISIONS[action]
        form = decision.form(request.POST if "confirm" in request.POST else None)
        if form.is_bound and form.is_valid():
            count = decision.service(
                request_ids=list(queryset.values_list("id", flat=True)),
                reviewer=request.user,
                note=form.cleaned_data["note"],
            )
            skipped = queryset.count() - count
            message = f"{decision.done} {count} request(s)."
            if skipped:
                status = Status(decision.applies_to).label.lower()
                message += f" {skipped} request(s) that were not {status} left as they were."
            self.message_user(request, message, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{decision.label} beta access",
            "opts": self.model._meta,
            "queryset": queryset.select_related("account", "requested_by"),
            "form": form,
            "decision": decision,
            "applies_to": Status(decision.applies_to).label.lower(),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/betaaccessrequest/review.html", context)


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """Axes' failed logins, with the lockout each one takes part in (axes' own status column
    knows only its e-mail and address limit) and an action that lifts it."""

    list_display = [
        *(name for name in axes_admin.AccessAttemptAdmin.list_display if name != "status"),
        "locked_out",
    ]
    list_filter = ["attempt_time", "path_info"]
    actions = [*axes_admin.AccessAttemptAdmin.actions, "clear_lockout"]

    @admin.display(description="Locked out")
    def locked_out(self, obj):
        found = lockout.login_lockout(email=obj.username, address=obj.ip_address)
        return found.kind.label if found else "No"

    @admin.action(
        description="Clear lockouts of the selected e-mails and addresses", permissions=["delete"]
    )
    def clear_lockout(self, request, queryset):
        emails = set(queryset.exclude(username=None).values_list("username", flat=True))
        addresses = set(queryset.exclude(ip_address=None).values_list("ip_address", flat=True))
        deleted = lockout.login_lockout_clear(emails=emails, addresses=addresses)
        self.message_user(
            request,
            f"Lockout cleared: {_count(deleted, 'failed attempt')} forgotten for "
            f"{_count(len(emails), 'e-mail address', 'e-mail addresses')} and "
            f"{_count(len(addresses), 'network address', 'network addresses')}.",
            messages.SUCCESS,
        )


def _count(number: int, one: str, many: str = "") -> str:
    return f"{number} {one if number == 1 else many or one + 's'}"
