"""Typed exceptions of the library. Nothing else escapes its public functions.

Messages never carry a Push key, API token or meter password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .readings import MeterReading


class EkmError(Exception):
    """Base of every error the library raises."""


# --- RS-485 frames -----------------------------------------------------------


class FrameError(EkmError):
    """A reply that cannot be trusted: it is never turned into a reading."""


class FrameLengthError(FrameError):
    """The reply is not the expected 255 bytes."""


class FrameStartError(FrameError):
    """The reply does not start with STX (0x02)."""


class CrcError(FrameError):
    """The CRC carried by the reply does not match its content."""


class AddressMismatchError(FrameError):
    """The reply comes from another meter than the one asked."""


class RequestTypeError(FrameError):
    """A v4 reply echoes another request type (A/B) than the one sent."""


class FieldValueError(FrameError):
    """A field holds characters its kind does not allow."""


class ImplausibleFrameError(FrameError):
    """The reply passed its CRC but holds what no meter sends (a corruption the CRC missed)."""


class ImplausibleChangeError(ImplausibleFrameError):
    """The reply differs from the meter's previous one by more than the meter could change.

    A counting register went down or rose faster than the meter can count, its clock
    jumped, or a setting changed without a write (a corruption the CRC missed).
    """


class LateReplyError(FrameError):
    """The bytes that came answer an earlier request (a late reply, or a copy): dropped."""


# --- Links and transactions --------------------------------------------------


class EkmConnectionError(EkmError):
    """The port, socket or HTTP server cannot be reached, or went away."""


class EkmTimeoutError(EkmError, TimeoutError):
    """No (complete) reply in time."""


class CommandRejectedError(EkmError):
    """The meter did not acknowledge a password or write (wrong password?)."""


class WriteUnconfirmedError(EkmError):
    """A write's ACK was lost; `reading` is the meter's state read back after it."""

    def __init__(self, message: str, reading: MeterReading | None) -> None:
        super().__init__(message)
        self.reading = reading


# --- Push API -----------------------------------------------------------------


class PushApiError(EkmError):
    """An error answer of the EKM Push API or of a Push3 gateway."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # HTTP status, when there was one
        self.code = code  # EKM status code (1000-1300), when there was one


class AuthenticationError(PushApiError):
    """The key (or API token) is invalid or not allowed for this request."""


class UnknownMeterError(PushApiError):
    """The meter is not one of the key's meters (EKM 1200)."""


class NoDataError(PushApiError):
    """The API has no data for the request (EKM 1000-1004)."""


class InvalidRequestError(PushApiError):
    """The API refused the request's parameters (EKM 1100-1103, HTTP 400)."""


class NotFoundError(InvalidRequestError):
    """The API has no such resource (HTTP 404), e.g. an unknown trigger."""


class ServerError(PushApiError):
    """The API failed on its side (EKM 1300, HTTP 5xx)."""


class RateLimitedError(PushApiError):
    """HTTP 429; `retry_after` is the server's Retry-After in seconds, if given."""

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class MalformedResponseError(PushApiError):
    """The body is not what the API sends: invalid JSON, an HTML page, 'Error...' text."""
