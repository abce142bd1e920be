"""The error matrix: every way a request can be refused, and how each surface says it.

One table, rendered by every surface. The authorizer raises `AccessDenied(denial)`;
a surface looks up `MATRIX[denial]` and speaks its own wire format. See
DESIGN.md ("Tenancy and the error matrix") and docs/errors.md.
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
