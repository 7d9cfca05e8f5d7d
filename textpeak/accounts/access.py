"""Membership: every console view runs for one member of one account."""

from functools import wraps

from django.shortcuts import render


def member_required(view):
    """Give the view ``request.member`` and ``request.account``, or refuse a user with neither."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = getattr(request.user, "member", None)
        if member is None:
            return render(request, "accounts/no_account.html", status=403)
        request.member = member
        request.account = member.account
        return view(request, *args, **kwargs)

    return wrapper
