"""The classifier: each engine and billing exception lands on its row of FAILURES, and
each surface says that row exactly as its hand-written handler used to."""

import logging

import pytest

from billing.services import InsufficientCredits
from kernel.errors import AccessDenied, Denial, Failure
from sessions_app.engine import AudioFormatError, EngineOverloaded, ModelNotAvailable
from sessions_app.failures import classify, refusal_of
from sessions_app.pipeline.analysis_run import AnalysisError, failure_of
from sessions_app.surfaces.voice.protocol import MAX_REASON_BYTES, failure_reply

log = logging.getLogger("tests.failures")


@pytest.mark.parametrize(
    ("exc", "row"),
    [
        (InsufficientCredits(), Failure.CREDITS_EXHAUSTED),
        (AccessDenied(Denial.CUSTOMER_INACTIVE), Failure.DENIED),
        (EngineOverloaded("queue full"), Failure.OVERLOADED),
        (ModelNotAvailable("zz-banking-v2-8khz"), Failure.MODEL_NOT_AVAILABLE),
        (AudioFormatError("truncated"), Failure.AUDIO_FORMAT),
        (RuntimeError("boom"), Failure.INTERNAL),
    ],
)
def test_each_exception_lands_on_its_row(exc, row):
    assert classify(exc, log, "ctx").row is row


def test_only_internal_failures_are_logged_with_their_traceback(caplog):
    with caplog.at_level(logging.ERROR, logger="tests.failures"):
        classify(EngineOverloaded("queue full"), log, "[%s] failed", "call-1")
        classify(RuntimeError("boom"), log, "[%s] failed", "call-2")
    assert [r.getMessage() for r in caplog.records] == ["[call-2] failed"]
    assert caplog.records[0].exc_info[1].args == ("boom",)


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (InsufficientCredits("Insufficient credits: 3 needed"), (402, "Insufficient credits: 3 needed", None)),
        (AccessDenied(Denial.PROJECT_NOT_FOUND), (400, "Project not found", None)),
        (EngineOverloaded(), (503, "Server overloaded, retry later", None)),
        (ModelNotAvailable("zz"), (400, "model 'zz' is not available", None)),
        (AudioFormatError("no audio stream"), (400, "Unsupported or corrupt audio: no audio stream", "Invalid audio")),
        (RuntimeError("boom"), (500, "Internal server error", None)),
    ],
)  # fmt: skip
def test_bodhi_requests_say_each_row_as_before(exc, said):
    outcome = classify(exc, log, "ctx").bodhi_request
    assert (outcome.status, outcome.message, outcome.error) == said


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (InsufficientCredits(), (402, "Insufficient balance: add credits to continue", "Insufficient balance")),
        (AccessDenied(Denial.CUSTOMER_INACTIVE), (403, "Customer account is inactive", None)),
        (EngineOverloaded(), (503, "Server overloaded, retry later", None)),
        (ModelNotAvailable("zz"), (400, "model 'zz' is not available", None)),
        (AudioFormatError("odd frame"), (400, "Unsupported audio: odd frame", None)),
        (RuntimeError("boom"), (500, "Internal server error", None)),
    ],
)  # fmt: skip
def test_bodhi_streams_say_each_row_as_before(exc, said):
    outcome = classify(exc, log, "ctx").bodhi_stream
    assert (outcome.status, outcome.message, outcome.error) == said


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (InsufficientCredits("Insufficient credits: balance 0"), ("INSUFFICIENT_CREDITS", "Insufficient credits", 402)),
        (EngineOverloaded("queue full"), ("ANALYSIS_FAILURE", "Analysis failed: queue full", 500)),
        (AccessDenied(Denial.CUSTOMER_INACTIVE), ("ANALYSIS_FAILURE", "Analysis failed: Customer account is inactive", 500)),
        (AudioFormatError("truncated"), ("ANALYSIS_FAILURE", "Analysis failed: truncated", 500)),
        (RuntimeError("boom"), ("ANALYSIS_FAILURE", "Analysis failed: boom", 500)),
    ],
)  # fmt: skip
def test_an_analysis_run_says_each_row_as_before(exc, expected):
    failure = failure_of(exc, "conv-1")
    assert (failure.code, failure.message, failure.status) == expected


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (InsufficientCredits(), ("ACCESS_DENIED", "Insufficient credits: add credits to continue", 4003)),
        (AccessDenied(Denial.CUSTOMER_INACTIVE), ("ACCESS_DENIED", "Customer account is inactive", 4003)),
        (EngineOverloaded("queue full"), ("SERVICE_UNAVAILABLE", "Service overloaded, retry later", 3503)),
        (ModelNotAvailable("zz"), ("INVALID_CONFIG", "model 'zz' is not available", 4004)),
        (AudioFormatError("odd frame"), ("AUDIO_PROCESSING_FAILED", "Failed to process audio: odd frame", None)),
        (RuntimeError("boom"), ("INTERNAL_ERROR", "Internal server error", 3500)),
    ],
)  # fmt: skip
def test_voice_says_each_row_and_closes_only_when_the_call_cannot_go_on(exc, said):
    reply = failure_reply(classify(exc, log, "ctx"))
    assert (reply.message["error_code"], reply.message["error_message"], reply.close_code) == said


@pytest.mark.parametrize(
    ("exc", "number"),
    [(EngineOverloaded(), 5503), (AudioFormatError("odd"), 5001), (RuntimeError("boom"), 5000)],
)
def test_voice_failures_with_a_seed_number_above_4999_carry_it_as_code(exc, number):
    assert failure_reply(classify(exc, log, "ctx")).message["code"] == number


def test_credits_exhausted_mid_call_names_the_billing_reason():
    reply = failure_reply(classify(InsufficientCredits(), log, "ctx"))
    assert reply.reason == reply.message["details"]["reason"]
    assert reply.reason == "Out of credits: add credits to continue the conversation"


@pytest.mark.parametrize(
    "exc",
    [InsufficientCredits(), EngineOverloaded(), ModelNotAvailable("zz"), RuntimeError("boom")],
)
def test_voice_closes_with_a_code_daphne_can_send_and_a_readable_reason(exc):
    reply = failure_reply(classify(exc, log, "ctx"))
    assert reply.close_code == 1000 or 3000 <= reply.close_code <= 4999
    assert 0 < len(reply.reason.encode()) <= MAX_REASON_BYTES


def test_an_analysis_error_ends_the_run_as_raised():
    raised = AnalysisError("NO_UTTERANCES", "No utterances detected in uploaded media", 400)
    assert failure_of(raised, "conv-1") is raised


def test_an_engine_at_capacity_refuses_with_the_overloaded_matrix_row():
    refused = refusal_of(EngineOverloaded())
    assert refused.denial is Denial.OVERLOADED
    assert (refused.rendering.http_status, refused.detail) == (
        503,
        "Service overloaded, retry later",
    )
    denied = AccessDenied(Denial.BAD_CREDENTIAL)
    assert refusal_of(denied) is denied
