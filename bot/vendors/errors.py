"""The one exception tree of the vendor connectors.

Callers catch at the level they care about (``VendorError`` is a ``bot.domain.errors.SpendbotError``)::

    VendorError                 any failure talking to a vendor; carries the vendor's own message
     ├── AuthError              401, or a body that says the key is invalid: the key was rejected
     ├── PermissionDenied       403: the key is valid but lacks a permission, or the plan lacks the feature
     ├── RateLimited            429: carries ``retry_after`` (seconds) when the vendor sent one
     ├── UpstreamError          5xx, timeouts, connection failures: the vendor is down or slow
     │    └── DeadlineExceeded  the work did not finish within the deadline its caller set
     ├── RequestRejected        any other 4xx: our request was refused (bad email, unknown user...)
     └── SchemaError            the response had an unexpected shape; ``field`` names the field

``code`` carries a vendor error code when the vendor sends one (REST envelopes: ``VALIDATION_ERROR``...).

Keys never appear in these exceptions: they are built from the vendor's message, the HTTP status and
the endpoint path only (never a URL with a query string, never a request body).
"""

from __future__ import annotations

from bot.domain.errors import SpendbotError


class VendorError(SpendbotError):
    """A vendor call failed; ``message`` is the vendor's own text when it sent one."""

    kind = "vendor error"

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        endpoint: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.vendor = vendor
        self.endpoint = endpoint
        self.status = status
        self.code = code
        super().__init__(self._text())

    def _text(self) -> str:
        where = " ".join(part for part in (self.vendor, self.endpoint) if part)
        status = f" (HTTP {self.status})" if self.status is not None else ""
        prefix = f"{where}{status}: " if where or status else ""
        code = f"{self.code}: " if self.code else ""
        return f"{prefix}{code}{self.message}"

    def __str__(self) -> str:
        return self._text()


class AuthError(VendorError):
    """The vendor rejected the key (HTTP 401 or an "invalid key" body)."""

    kind = "key rejected"


class PermissionDenied(VendorError):
    """The key is valid but lacks a permission, or the plan lacks the feature (HTTP 403)."""

    kind = "key lacks a permission or plan"


class RateLimited(VendorError):
    """The vendor throttled us (HTTP 429); ``retry_after`` is in seconds when the vendor said."""

    kind = "rate limited"

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        endpoint: str = "",
        status: int | None = 429,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, vendor=vendor, endpoint=endpoint, status=status, code=code)


class UpstreamError(VendorError):
    """The vendor failed or could not be reached: 5xx, timeout, connection error."""

    kind = "vendor unreachable"


class DeadlineExceeded(UpstreamError):
    """The vendor's answers did not all arrive within the deadline the caller set (a hang, a long 429 wait).

    Raised by the caller's deadline, not by the vendor, so it carries no status; it is a failure of this
    attempt like a timeout, recorded on the connection so its health says why its figures are old.
    """

    kind = "no answer in time"


class RequestRejected(VendorError):
    """The vendor refused our request with a 4xx other than 401/403/429 (for example a bad email)."""

    kind = "request rejected"


class SchemaError(VendorError):
    """The response did not have the documented shape; ``field`` names what was wrong."""

    kind = "unexpected response"

    def __init__(
        self,
        message: str,
        *,
        field: str,
        vendor: str = "",
        endpoint: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.field = field
        super().__init__(message, vendor=vendor, endpoint=endpoint, status=status, code=code)

    def _text(self) -> str:
        return f"{super()._text()} (field {self.field!r})"
