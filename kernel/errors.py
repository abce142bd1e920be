"""The error matrix: every way a request can be refused, and how each surface says it.

One table, rendered by every surface. The authorizer raises `AccessDenied(denial)`;
a surface looks up `MATRIX[denial]` and speaks its own wire format. See
DESIGN.md ("Tenancy and the error matrix") and docs/errors.md.

Its sibling, `FAILURES`, holds the rows for work that was let in and then could not
be served (engine overloaded, model not available, bad audio, credits exhausted,
internal). The classifier that maps exceptions to those rows lives above the kernel,
in sessions_app/failures.py: the kernel imports neither engine nor billing.
"""

from dataclasses import dataclass
from enum import Enum


class Denial(Enum):
    NO_CREDENTIAL = "no_credential"
    BAD_CREDENTIAL = "bad_credential"
    CUSTOMER_INACTIVE = "customer_inactive"
    PROJECT_FORBIDDEN = "project_forbidden"
    PROJECT_NOT_FOUND = "project_not_found"
    CONFIG_NOT_FOUND = "config_not_found"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    SESSION_NOT_FOUND = "session_not_found"
    RATE_LIMITED = "rate_limited"
    SESSION_LIMIT = "session_limit"
    OVERLOADED = "overloaded"


@dataclass(frozen=True)
class Rendering:
    # Analytics REST / SSE (Illocution): HTTP status and {"detail": ...}.
    http_status: int
    detail: str
    # Streaming ASR (Bodhi): the `code` of {"error", "message", "code", "timestamp"};
    # the message is `detail`.
    bodhi_code: int
    # Voice interface (NextEVI): in-band error code and the WebSocket close code.
    voice_code: str
    voice_close: int


INVALID_KEY_DETAIL = "Invalid or missing API key"

MATRIX: dict[Denial, Rendering] = {
    Denial.NO_CREDENTIAL: Rendering(401, INVALID_KEY_DETAIL, 401, "AUTH_REQUIRED", 4001),
    Denial.BAD_CREDENTIAL: Rendering(401, INVALID_KEY_DETAIL, 401, "AUTH_FAILED", 4001),
    Denial.CUSTOMER_INACTIVE: Rendering(
        403, "Customer account is inactive", 403, "ACCESS_DENIED", 4003
    ),
    Denial.PROJECT_FORBIDDEN: Rendering(
        403, "API key is not allowed to use this project", 403, "ACCESS_DENIED", 4003
    ),
    Denial.INSUFFICIENT_CREDITS: Rendering(402, "Insufficient credits", 402, "ACCESS_DENIED", 4003),
    Denial.PROJECT_NOT_FOUND: Rendering(404, "Project not found", 400, "INVALID_PROJECT", 4004),
    Denial.CONFIG_NOT_FOUND: Rendering(404, "Config not found", 400, "CONFIG_NOT_FOUND", 4004),
    Denial.SESSION_NOT_FOUND: Rendering(
        404, "Unknown live session", 404, "SESSION_NOT_FOUND", 4004
    ),
    Denial.RATE_LIMITED: Rendering(429, "Too many requests", 429, "RATE_LIMITED", 4029),
    Denial.SESSION_LIMIT: Rendering(
        429, "Too many concurrent sessions", 503, "SESSION_LIMIT_EXCEEDED", 4029
    ),
    Denial.OVERLOADED: Rendering(
        503, "Service overloaded, retry later", 503, "SERVICE_UNAVAILABLE", 1013
    ),
}


class AccessDenied(Exception):
    """A request refused for one of the matrix's reasons. `detail` may be more specific."""

    def __init__(self, denial: Denial, detail: str | None = None):
        self.denial = denial
        self.rendering = MATRIX[denial]
        self.detail = detail or self.rendering.detail
        super().__init__(self.detail)


class Failure(Enum):
    """Why work could not be served: the rows of `FAILURES`."""

    DENIED = "denied"  # an AccessDenied: the status is its MATRIX row's
    CREDITS_EXHAUSTED = "credits_exhausted"
    OVERLOADED = "overloaded"
    MODEL_NOT_AVAILABLE = "model_not_available"
    AUDIO_FORMAT = "audio_format"
    INTERNAL = "internal"  # anything else; logged with its traceback


@dataclass(frozen=True)
class Said:
    """What one surface says for a row.

    `{detail}` in `message` is the exception's own words. A `status` of None is the
    status of the AccessDenied's MATRIX row (DENIED and CREDITS_EXHAUSTED only).
    """

    status: int | None
    message: str
    # Bodhi's `error` summary (None: the message); the analytics SSE error `code`.
    error: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class FailureRendering:
    # Analytics (Illocution) once a run has started: the SSE `error` event's code and
    # message, and the status /analyze answers. A refusal before the run is a MATRIX row.
    analytics_run: Said
    # Bodhi at the door (a WebSocket handshake) and for a whole file (POST /api/transcribe).
    bodhi_request: Said
    # Bodhi once the stream is open: the error message before the close.
    bodhi_stream: Said


_AS_DENIED = Said(None, "{detail}")
_OVERLOADED_BODHI = Said(503, "Server overloaded, retry later")
_INTERNAL_BODHI = Said(500, "Internal server error")
# The analytics run names one failure code for everything but exhausted credits.
_ANALYSIS_FAILURE = Said(500, "Analysis failed: {detail}", code="ANALYSIS_FAILURE")

FAILURES: dict[Failure, FailureRendering] = {
    Failure.DENIED: FailureRendering(_ANALYSIS_FAILURE, _AS_DENIED, _AS_DENIED),
    Failure.CREDITS_EXHAUSTED: FailureRendering(
        analytics_run=Said(402, "Insufficient credits", code="INSUFFICIENT_CREDITS"),
        bodhi_request=_AS_DENIED,
        bodhi_stream=Said(
            402, "Insufficient balance: add credits to continue", error="Insufficient balance"
        ),
    ),
    Failure.OVERLOADED: FailureRendering(_ANALYSIS_FAILURE, _OVERLOADED_BODHI, _OVERLOADED_BODHI),
    Failure.MODEL_NOT_AVAILABLE: FailureRendering(
        _ANALYSIS_FAILURE, Said(400, "{detail}"), Said(400, "{detail}")
    ),
    Failure.AUDIO_FORMAT: FailureRendering(
        analytics_run=_ANALYSIS_FAILURE,
        bodhi_request=Said(400, "Unsupported or corrupt audio: {detail}", error="Invalid audio"),
        bodhi_stream=Said(400, "Unsupported audio: {detail}"),
    ),
    Failure.INTERNAL: FailureRendering(_ANALYSIS_FAILURE, _INTERNAL_BODHI, _INTERNAL_BODHI),
}
