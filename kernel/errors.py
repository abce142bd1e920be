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
    # Voice interface (NextEVI): in-band `error_code`, the WebSocket close code (one
    # daphne can send: 1000 or 3000-4999; 4xxx is terminal for the SDK, 3xxx makes it
    # reconnect) and the close reason phrase, which the SDK shows to end users
    # (at most 123 bytes).
    voice_code: str
    voice_close: int
    voice_reason: str


INVALID_KEY_DETAIL = "Invalid or missing API key"

MATRIX: dict[Denial, Rendering] = {
    Denial.NO_CREDENTIAL: Rendering(
        401, INVALID_KEY_DETAIL, 401, "AUTH_REQUIRED", 4001,
        "Authentication required: connect with an API key or an access token",
    ),
    Denial.BAD_CREDENTIAL: Rendering(
        401, INVALID_KEY_DETAIL, 401, "AUTH_FAILED", 4001,
        "Authentication failed: the API key or access token is invalid, revoked or expired",
    ),
    Denial.CUSTOMER_INACTIVE: Rendering(
        403, "Customer account is inactive", 403, "ACCESS_DENIED", 4003,
        "Access denied: this account is inactive",
    ),
    Denial.PROJECT_FORBIDDEN: Rendering(
        403, "API key is not allowed to use this project", 403, "ACCESS_DENIED", 4003,
        "Access denied: this API key may not use this project",
    ),
    Denial.INSUFFICIENT_CREDITS: Rendering(
        402, "Insufficient credits", 402, "ACCESS_DENIED", 4003,
        "Access denied: no credits left, add credits to continue",
    ),
    Denial.PROJECT_NOT_FOUND: Rendering(
        404, "Project not found", 400, "INVALID_PROJECT", 4004,
        "Project not found",
    ),
    Denial.CONFIG_NOT_FOUND: Rendering(
        404, "Config not found", 400, "CONFIG_NOT_FOUND", 4004,
        "Voice configuration not found",
    ),
    Denial.SESSION_NOT_FOUND: Rendering(
        404, "Unknown live session", 404, "SESSION_NOT_FOUND", 4004,
        "Session not found",
    ),
    Denial.RATE_LIMITED: Rendering(
        429, "Too many requests", 429, "RATE_LIMITED", 4029,
        "Too many requests: wait a moment before connecting again",
    ),
    Denial.SESSION_LIMIT: Rendering(
        429, "Too many concurrent sessions", 503, "SESSION_LIMIT_EXCEEDED", 4029,
        "Too many conversations at once for this account",
    ),
    # 3503: a retry may help, so the SDK's reconnect (1 s, 2 s, 4 s) is welcome.
    Denial.OVERLOADED: Rendering(
        503, "Service overloaded, retry later", 503, "SERVICE_UNAVAILABLE", 3503,
        "The service is busy: please try again in a moment",
    ),
}  # fmt: skip


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
class VoiceSaid:
    """What the voice surface says for a row: `error_code` and `error_message` in band,
    then the close code and its reason phrase; a `close` of None: the call goes on.

    `{detail}` in `message` is the exception's own words."""

    code: str
    message: str
    close: int | None
    reason: str = ""


def voice_of(rendering: Rendering, message: str = "{detail}") -> VoiceSaid:
    """A MATRIX row as the voice surface says it."""
    return VoiceSaid(rendering.voice_code, message, rendering.voice_close, rendering.voice_reason)


@dataclass(frozen=True)
class FailureRendering:
    # Analytics (Illocution) once a run has started: the SSE `error` event's code and
    # message, and the status /analyze answers. A refusal before the run is a MATRIX row.
    analytics_run: Said
    # Bodhi at the door (a WebSocket handshake) and for a whole file (POST /api/transcribe).
    bodhi_request: Said
    # Bodhi once the stream is open: the error message before the close.
    bodhi_stream: Said
    # The voice interface, at the door or during a call. None: the Denial's MATRIX row.
    voice: VoiceSaid | None


_AS_DENIED = Said(None, "{detail}")
_OVERLOADED_BODHI = Said(503, "Server overloaded, retry later")
_INTERNAL_BODHI = Said(500, "Internal server error")
# The analytics run names one failure code for everything but exhausted credits.
_ANALYSIS_FAILURE = Said(500, "Analysis failed: {detail}", code="ANALYSIS_FAILURE")

FAILURES: dict[Failure, FailureRendering] = {
    Failure.DENIED: FailureRendering(_ANALYSIS_FAILURE, _AS_DENIED, _AS_DENIED, None),
    Failure.CREDITS_EXHAUSTED: FailureRendering(
        analytics_run=Said(402, "Insufficient credits", code="INSUFFICIENT_CREDITS"),
        bodhi_request=_AS_DENIED,
        bodhi_stream=Said(
            402, "Insufficient balance: add credits to continue", error="Insufficient balance"
        ),
        voice=VoiceSaid(
            "ACCESS_DENIED",
            "Insufficient credits: add credits to continue",
            4003,
            "Out of credits: add credits to continue the conversation",
        ),
    ),
    Failure.OVERLOADED: FailureRendering(
        _ANALYSIS_FAILURE,
        _OVERLOADED_BODHI,
        _OVERLOADED_BODHI,
        voice_of(MATRIX[Denial.OVERLOADED], MATRIX[Denial.OVERLOADED].detail),
    ),
    Failure.MODEL_NOT_AVAILABLE: FailureRendering(
        _ANALYSIS_FAILURE,
        Said(400, "{detail}"),
        Said(400, "{detail}"),
        # The config names a model this server does not have: retrying cannot help.
        VoiceSaid(
            "INVALID_CONFIG",
            "{detail}",
            4004,
            "The voice configuration names a speech model this server does not have",
        ),
    ),
    Failure.AUDIO_FORMAT: FailureRendering(
        analytics_run=_ANALYSIS_FAILURE,
        bodhi_request=Said(400, "Unsupported or corrupt audio: {detail}", error="Invalid audio"),
        bodhi_stream=Said(400, "Unsupported audio: {detail}"),
        # One bad chunk does not end a conversation: the client is told and goes on.
        voice=VoiceSaid("AUDIO_PROCESSING_FAILED", "Failed to process audio: {detail}", None),
    ),
    Failure.INTERNAL: FailureRendering(
        _ANALYSIS_FAILURE,
        _INTERNAL_BODHI,
        _INTERNAL_BODHI,
        # 3500: a retry may help, so the SDK reconnects.
        VoiceSaid(
            "INTERNAL_ERROR",
            "Internal server error",
            3500,
            "Internal server error: please reconnect",
        ),
    ),
}
