"""Writes to streams. Views, admin actions and tasks call these; they own the transaction."""

from streams.models import Stream
from textpeak.accounts.models import Account


def stream_create_draft(
    *, account: Account, type: str, name: str, description: str = "", is_demo: bool = False
) -> Stream:
    return Stream.objects.create(
        account=account,
        type=type,
        name=name,
        description=description,
        is_demo=is_demo,
        status=Stream.Status.DRAFT,
    )
