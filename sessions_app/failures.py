"""One classifier: the exception that ended a request or stream -> a row of FAILURES.

Every surface renders failures through it (kernel/errors.py, docs/errors.md), so a
new engine or billing error is mapped once, here, instead of in each handler's
exception ladder. The surfaces' own protocol errors (Bodhi's BodhiError, the
analytics AnalysisError) are theirs and never come here.
"""

import logging
from dataclasses import dataclass

from billing.services import InsufficientCredits
from kernel.errors import FAILURES, AccessDenied, Denial, Failure, Rendering, Said
from sessions_app.engine import AudioFormatError, EngineOverloaded, ModelNotAvailable

# What may refuse work before it starts (the authorizer, the engine's admission check).
REFUSALS = (AccessDenied, EngineOverloaded)

# First match wins: InsufficientCredits is an AccessDenied, and is told apart.
_ROWS: tuple[tuple[type[Exception], Failure], ...] = (
    (InsufficientCredits, Failure.CREDITS_EXHAUSTED),
    (AccessDenied, Failure.DENIED),
    (EngineOverloaded, Failure.OVERLOADED),
    (ModelNotAvailable, Failure.MODEL_NOT_AVAILABLE),
    (AudioFormatError, Failure.AUDIO_FORMAT),
)


@dataclass(frozen=True)
class Outcome:
    """A failure as one surface says it."""

    status: int
    message: str
    error: str | None = None  # Bodhi's `error` summary; None: the message
    code: str | None = None  # the analytics SSE error code


@dataclass(frozen=True)
class Classified:
    row: Failure
    detail: str  # the exception's own words
    denied: Rendering | None = None  # an AccessDenied's MATRIX row

    @property
    def analytics_run(self) -> Outcome:
        return self._outcome(FAILURES[self.row].analytics_run, None)

    @property
    def bodhi_request(self) -> Outcome:
        return self._outcome(FAILURES[self.row].bodhi_request, self._bodhi_denied)

    @property
    def bodhi_stream(self) -> Outcome:
        return self._outcome(FAILURES[self.row].bodhi_stream, self._bodhi_denied)

    @property
    def _bodhi_denied(self) -> int | None:
        return self.denied.bodhi_code if self.denied else None

    def _outcome(self, said: Said, denied_status: int | None) -> Outcome:
        return Outcome(
            status=said.status or denied_status,
            message=said.message.format(detail=self.detail),
            error=said.error,
            code=said.code,
        )


def classify(exc: BaseException, log: logging.Logger, context: str, *args: object) -> Classified:
    """The row `exc` belongs to; an internal failure is logged as `context % args`."""
    row = next((row for kind, row in _ROWS if isinstance(exc, kind)), Failure.INTERNAL)
    if row is Failure.INTERNAL:
        log.error(context, *args, exc_info=exc)
    return Classified(row, str(exc), exc.rendering if isinstance(exc, AccessDenied) else None)


def refusal_of(exc: AccessDenied | EngineOverloaded) -> AccessDenied:
    """A refusal as its MATRIX row: an engine at capacity refuses with Denial.OVERLOADED."""
    return exc if isinstance(exc, AccessDenied) else AccessDenied(Denial.OVERLOADED)
