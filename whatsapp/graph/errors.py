"""The Graph API's failures as types: each says whether the same call may succeed later.

Meta's error codes are classified here, once; callers catch a type, never a code."""

# Meta asks for errors to be handled by ``error.code`` (its HTTP status varies between documents):
# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
_AUTH_CODES = frozenset({0, 102, 190, 463, 467})


_PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})


_RATE_LIMIT_CODES = frozenset(
    {
        4,  # app: too many calls
        17,  # user request limit
        32,  # page request limit
        613,  # calls to this API exceeded its rate
        80007,  # WhatsApp Business Account rate limit
        130429,  # the phone number's throughput (messages per second) reached
        # 131048 (spam rate limit: too many earlier messages were blocked or reported) and 131056
        # (pair rate limit: too many messages to the same recipient in a short time) refuse this
        # message for now, not for good. Both lift by themselves, so the same message may be sent
        # again later, with backoff (Meta: about one message every 6 seconds to one recipient).
        131048,
        131056,
    }
)


_TEMPORARY_CODES = frozenset(
    {
        1,  # API unknown: possibly a temporary outage
        2,  # API service: temporary downtime or overload
        131000,  # something went wrong
        131016,  # service unavailable
        131057,  # business account in maintenance mode (such as a throughput upgrade)
        133004,  # server temporarily unavailable
    }
)


# Refusals that stay refusals, whatever the HTTP status they come with (131045 comes with 500):
# sending the same request again cannot succeed.
_PERMANENT_CODES = frozenset(
    {
        33,  # the phone number was deleted
        100,  # invalid parameter
        368,  # temporarily blocked for policy violations (blocks last days, not seconds)
        130472,  # the recipient is part of an experiment
        130497,  # the business may not message users in this country
        131005,  # access denied
        131008,  # required parameter missing
        131009,  # parameter value not valid
        131021,  # recipient cannot be the sender
        131026,  # message undeliverable
        131031,  # business account locked
        131037,  # display name needs approval
        131042,  # business eligibility: payment issue
        131045,  # incorrect certificate
        131047,  # re-engagement: more than 24 hours since the customer last wrote
        131049,  # Meta chose not to deliver (per-user marketing limit)
        131050,  # the user stopped marketing messages
        131051,  # unsupported message type
        131052,  # media download error
        131053,  # media upload error
        *range(132000, 132070),  # templates and flows: parameters, missing, paused, disabled...
        133010,  # phone number not registered
        135000,  # generic user error
    }
)


class GraphError(Exception):
    """A Graph API call failed.

    ``message`` is Meta's own ``error.message`` (or says what went wrong on the way to Meta),
    ``details`` Meta's ``error_data.details``, which often says which parameter was wrong, and
    ``fbtrace_id`` is what Meta support asks for.
    """

    retryable: bool = False  # whether the same call may succeed later

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
        fbtrace_id: str = "",
        details: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.fbtrace_id = fbtrace_id
        self.details = details

    def __str__(self) -> str:
        text = f"{self.message}: {self.details}" if self.details else self.message
        facts = [
            f"{label} {value}"
            for label, value in (
                ("code", self.code),
                ("subcode", self.subcode),
                ("HTTP", self.http_status),
                ("fbtrace_id", self.fbtrace_id),
            )
            if value
        ]
        return f"{text} ({', '.join(facts)})" if facts else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, "
            f"subcode={self.subcode!r}, http_status={self.http_status!r})"
        )


class AuthError(GraphError):
    """The access token is invalid or has expired: the business must connect again."""


class PermissionDenied(GraphError):
    """The token is valid but lacks a permission this call needs."""


class RateLimited(GraphError):
    """Meta throttled the app, the business account or the phone number."""

    retryable = True


class TemporaryError(GraphError):
    """Meta failed or could not be reached; the same call may well succeed later."""

    retryable = True


class InvalidParameter(GraphError):
    """Meta refused the request as made (also the fallback for codes not known here)."""


class NotFound(InvalidParameter):
    """The media does not exist (any more) or this token may not see it: an unknown or deleted
    media id (Meta's code 100, subcode 33), or a media URL that expired (HTTP 404)."""


def error_class(code: int | None, http_status: int) -> type[GraphError]:
    # Decided by ``code``; the HTTP status only classifies codes not known here.
    if code in _AUTH_CODES:
        return AuthError
    if code in _PERMISSION_CODES:
        return PermissionDenied
    if code in _RATE_LIMIT_CODES:
        return RateLimited
    if code in _TEMPORARY_CODES:
        return TemporaryError
    if code in _PERMANENT_CODES:
        return InvalidParameter
    return status_class(http_status)


def status_class(http_status: int) -> type[GraphError]:
    """The error type for an answer whose code (if any) says nothing known."""
    if http_status == 429:
        return RateLimited
    if http_status >= 500:
        return TemporaryError
    return InvalidParameter
