def membership(request):
    """The signed-in member (if any), for the header of every page."""
    user = getattr(request, "user", None)
    member = getattr(user, "member", None) if user and user.is_authenticated else None
    return {"current_member": member}
