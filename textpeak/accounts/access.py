"""Membership and roles: every console view runs for one member of one account.

The one place that enforces what a role may do. Any member may read; only an admin may
change anything, so a member's POST (or PUT, PATCH, DELETE) is refused with a 403 before the
view runs, whatever it posts. The pages that lead to an admin's action (the wizard, the
confirmations) are refused to members outright with ``admin_required``.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _membership(view, *, admins_only: bool):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = getattr(request.user, "member", None)
        if member is None:
            return render(request, "accounts/no_account.html", status=403)
        request.member = member
        request.account = member.account
        # Before the view's own lookup: the refusal says nothing of what exists.
        if not member.is_admin and (admins_only or request.method not in READ_METHODS):
            raise PermissionDenied(
                f"Only an admin of {member.account.name} can change its streams and members. "
                "The Members page lists who they are."
            )
        return view(request, *args, **kwargs)

    return wrapper


def member_required(view):
    """Give the view ``request.member`` and ``request.account``, or refuse a user with neither;
    a member who is not an admin may only read (GET, HEAD)."""
    return _membership(view, admins_only=False)


def admin_required(view):
    """As ``member_required``, for a view only an admin may open at all."""
    return _membership(view, admins_only=True)
