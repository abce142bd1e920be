"""The NextEVI voice wire format, server side: every message the server sends, and how
refusals and failures are told, as the SDK, the LiveKit plugin and the docs read them."""

import base64
import json
import logging
import time
import uuid

import pytest

from kernel.errors import MATRIX, AccessDenied, Denial
from sessions_app.engine import Word
from sessions_app.failures import classify
from sessions_app.surfaces.voice import protocol

# -- server messages -------------------------------------------------------------------
WORDS = (Word("what's", 0.12, 0.4, 0.95), Word("the", 0.4, 0.52, 0.9))
TOP_EMOTION = {"emotion", "percentage", "confidence"}

ENVELOPE = {"type", "timestamp", "message_id", "data"}
log = logging.getLogger("tests.voice")


@pytest.mark.parametrize(
    ("build", "kind", "fields"),
    [
        (lambda: protocol.connection_metadata("conn-1", project_id="proj_1", config_id="cfg_1"),
         "connection_metadata", {"connection_id", "status", "config", "project_id", "config_id"}),
        (lambda: protocol.interim_transcription("what's the", confidence=0.7, session_id="s"), "transcription",
         {"transcript", "is_final", "is_speech_final", "confidence", "words", "session_id",
          "processing_time", "metadata"}),
        (lambda: protocol.final_transcription("what's the", confidence=0.9, words=WORDS, session_id="s",
                                      processing_time=0.08), "transcription",
         {"transcript", "is_final", "is_speech_final", "confidence", "words", "session_id",
          "processing_time", "metadata"}),
        (lambda: protocol.emotion_update({"joy": 0.6, "neutral": 0.4}), "emotion_update", {"top_emotions", "emotions"}),
        (lambda: protocol.turn_complete("what's the", confidence=0.9, reasons=["silence"], processing_time=0.01),
         "turn_complete", {"turn_result", "transcript"}),
        (lambda: protocol.llm_response_chunk("I can't", generation_id="g-7", chunk_index=0, is_final=False),
         "llm_response_chunk", {"content", "is_final", "generation_id", "chunk_index"}),
        (lambda: protocol.tts_chunk(b"\x00\x01", chunk_id="g-7-0", is_last=False), "tts_chunk",
         {"content", "chunk_id", "is_last"}),
        (lambda: protocol.tts_interruption(), "tts_interruption", {"content"}),
        (lambda: protocol.user_interruption(), "user_interruption", {"content"}),
        (lambda: protocol.idle_warning("warning", 30), "idle_warning", {"warning_type", "time_remaining"}),
        (lambda: protocol.system_message("Hi! How can I help?", "initial"), "system_message",
         {"content", "message_type"}),
        (lambda: protocol.error("AUDIO_PROCESSING_FAILED", "Failed to process audio chunk",
                        {"chunk_id": "chunk-001", "reason": "Invalid audio format"}), "error",
         {"error_code", "error_message", "error", "code", "details"}),
        (lambda: protocol.error("UNSUPPORTED_MESSAGE_TYPE", "Unsupported message type 'x'"), "error",
         {"error_code", "error_message", "error", "details"}),
    ],
)  # fmt: skip
def test_every_server_message_has_its_exact_fields_at_the_top_and_under_data(build, kind, fields):
    message = build()
    assert message["type"] == kind
    assert set(message) == ENVELOPE | fields
    assert message["data"] == {name: message[name] for name in fields}
    assert abs(message["timestamp"] - time.time()) < 60, "seconds, not milliseconds"
    assert uuid.UUID(message["message_id"])
    assert json.loads(json.dumps(message)) == message, "a text frame"


def test_message_ids_are_unique():
    assert len({protocol.tts_interruption()["message_id"] for _ in range(100)}) == 100


def test_connection_metadata_announces_24_khz_mono_pcm16():
    message = protocol.connection_metadata("conn-1", project_id="proj_1", config_id="cfg_1")
    assert (message["connection_id"], message["status"]) == ("conn-1", "connected")
    assert message["config"] == {
        "audio_format": "pcm_24khz_16bit_mono",
        "encoding": "linear16",
        "sample_rate": 24000,
        "channels": 1,
    }


def test_an_interim_is_not_final_and_a_final_carries_words_with_times():
    interim = protocol.interim_transcription("what's the", confidence=0.71, session_id="s-1")
    assert (interim["transcript"], interim["is_final"], interim["is_speech_final"]) == (
        "what's the",
        False,
        False,
    )
    assert (interim["words"], interim["metadata"]) == ([], {"event_type": "normal"})
    final = protocol.final_transcription(
        "what's the", confidence=0.93, words=WORDS, session_id="s-1", processing_time=0.08
    )
    assert (final["is_final"], final["is_speech_final"], final["confidence"]) == (True, True, 0.93)
    assert final["words"][0] == {"word": "what's", "start": 0.12, "end": 0.4, "confidence": 0.95}
    assert (final["session_id"], final["processing_time"]) == ("s-1", 0.08)
    assert final["metadata"] == {"event_type": "utterance_end"}
    cut = protocol.final_transcription(
        "and so",
        confidence=0.8,
        words=(),
        session_id="s-1",
        processing_time=0.1,
        speech_final=False,
    )
    assert (cut["is_final"], cut["is_speech_final"]) == (True, False)


def test_emotions_are_ranked_with_percentage_and_confidence():
    message = protocol.emotion_update(
        {"neutral": 0.62, "joy": 0.215, "sadness": 0.1, "anger": 0.065}, top=2
    )
    assert message["top_emotions"] == [
        {"emotion": "neutral", "percentage": 62.0, "confidence": 0.62},
        {"emotion": "joy", "percentage": 21.5, "confidence": 0.215},
    ]
    assert [e["emotion"] for e in message["emotions"]] == ["neutral", "joy", "sadness", "anger"]
    assert all(set(e) == TOP_EMOTION for e in message["emotions"])


def test_turn_complete_carries_its_turn_result():
    message = protocol.turn_complete(
        "what's the weather like", confidence=0.9, reasons=["silence"], processing_time=0.01
    )
    assert message["turn_result"] == {
        "is_complete": True,
        "confidence": 0.9,
        "reasons": ["silence"],
        "processing_time": 0.01,
    }


def test_llm_chunks_carry_the_cumulative_content():
    message = protocol.llm_response_chunk(
        "I can't check live weather.", generation_id="g-7", chunk_index=1, is_final=True
    )
    assert (message["content"], message["generation_id"], message["chunk_index"]) == (
        "I can't check live weather.",
        "g-7",
        1,
    )
    assert message["is_final"] is True


def test_tts_audio_is_base64_headerless_pcm16_of_even_length():
    pcm = bytes(range(200))
    message = protocol.tts_chunk(pcm, chunk_id="g-7-3", is_last=True)
    assert base64.b64decode(message["content"]) == pcm
    assert (message["chunk_id"], message["is_last"]) == ("g-7-3", True)
    with pytest.raises(ValueError):
        protocol.tts_chunk(pcm[:-1], chunk_id="g-7-4", is_last=False)


def test_interruptions_have_empty_content():
    assert protocol.tts_interruption()["content"] == protocol.user_interruption()["content"] == ""


@pytest.mark.parametrize("kind", ["warning", "final_warning"])
def test_idle_warnings_name_their_kind_and_time_remaining(kind):
    message = protocol.idle_warning(kind, 10)
    assert (message["warning_type"], message["time_remaining"]) == (kind, 10.0)


@pytest.mark.parametrize("kind", ["initial", "warning", "hangup"])
def test_system_messages_name_their_kind(kind):
    assert protocol.system_message("text", kind)["message_type"] == kind


def test_unknown_warning_and_system_message_kinds_are_programming_errors():
    with pytest.raises(ValueError):
        protocol.idle_warning("last_warning", 5)
    with pytest.raises(ValueError):
        protocol.system_message("text", "goodbye")


def test_the_docs_error_example_is_produced_in_the_hybrid_shape():
    message = protocol.error(
        "AUDIO_PROCESSING_FAILED",
        "Failed to process audio chunk",
        {"chunk_id": "chunk-001", "reason": "Invalid audio format"},
    )
    assert message["data"] == {
        "error_code": "AUDIO_PROCESSING_FAILED",
        "error_message": "Failed to process audio chunk",
        "error": "Failed to process audio chunk",
        "code": 5001,
        "details": {"chunk_id": "chunk-001", "reason": "Invalid audio format"},
    }
    assert (message["error_code"], message["error_message"]) == (
        "AUDIO_PROCESSING_FAILED",
        "Failed to process audio chunk",
    )


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("INTERNAL_ERROR", 5000),
        ("AUDIO_PROCESSING_FAILED", 5001),
        ("AUDIO_FORMAT_UNSUPPORTED", 5002),
        ("AUDIO_CHUNK_TOO_LARGE", 5003),
        ("SESSION_EXPIRED", 5004),
        ("SESSION_LIMIT_EXCEEDED", 5005),
        ("SERVICE_UNAVAILABLE", 5503),
    ],
)
def test_the_seeds_codes_above_4999_travel_as_a_numeric_code(code, number):
    assert protocol.error(code, "m")["code"] == number


@pytest.mark.parametrize(
    "code",
    ["AUTH_REQUIRED", "AUTH_FAILED", "ACCESS_DENIED", "CONFIG_NOT_FOUND", "INVALID_MESSAGE_FORMAT"],
)
def test_codes_whose_number_is_a_close_code_carry_no_numeric_code(code):
    assert "code" not in protocol.error(code, "m")


# -- refusals: the voice columns of the matrix -----------------------------------------
@pytest.mark.parametrize(
    ("denial", "code", "close"),
    [
        (Denial.NO_CREDENTIAL, "AUTH_REQUIRED", 4001),
        (Denial.BAD_CREDENTIAL, "AUTH_FAILED", 4001),
        (Denial.CUSTOMER_INACTIVE, "ACCESS_DENIED", 4003),
        (Denial.PROJECT_FORBIDDEN, "ACCESS_DENIED", 4003),
        (Denial.INSUFFICIENT_CREDITS, "ACCESS_DENIED", 4003),
        (Denial.CONFIG_NOT_FOUND, "CONFIG_NOT_FOUND", 4004),
        (Denial.PROJECT_NOT_FOUND, "INVALID_PROJECT", 4004),
        (Denial.SESSION_NOT_FOUND, "SESSION_NOT_FOUND", 4004),
        (Denial.RATE_LIMITED, "RATE_LIMITED", 4029),
        (Denial.SESSION_LIMIT, "SESSION_LIMIT_EXCEEDED", 4029),
        (Denial.OVERLOADED, "SERVICE_UNAVAILABLE", 3503),
    ],
)
def test_each_refusal_is_told_then_closed_with_its_code_and_reason(denial, code, close):
    reply = protocol.failure_reply(classify(AccessDenied(denial), log, "ctx"))
    row = MATRIX[denial]
    assert (row.voice_code, row.voice_close) == (code, close)
    assert (reply.message["type"], reply.message["error_code"], reply.close_code) == (
        "error",
        code,
        close,
    )
    assert reply.message["error_message"] == row.detail
    assert reply.reason == row.voice_reason == reply.message["details"]["reason"]


def test_a_refusals_own_words_are_its_error_message():
    denied = AccessDenied(Denial.BAD_CREDENTIAL, "Invalid API key or customer ID")
    reply = protocol.failure_reply(classify(denied, log, "ctx"))
    assert (reply.message["error_message"], reply.message["error"]) == (
        "Invalid API key or customer ID",
        "Invalid API key or customer ID",
    )


@pytest.mark.parametrize("denial", list(Denial))
def test_every_matrix_close_code_is_one_daphne_can_send_with_a_readable_reason(denial):
    row = MATRIX[denial]
    assert row.voice_close == 1000 or 3000 <= row.voice_close <= 4999
    assert 0 < len(row.voice_reason.encode()) <= protocol.MAX_REASON_BYTES
    assert row.voice_reason[0].isupper() and not row.voice_reason.isupper(), "a phrase, not a name"


def test_only_a_retry_that_may_help_gets_a_code_the_sdk_reconnects_on():
    retryable = {d for d, row in MATRIX.items() if row.voice_close < 4000}
    assert retryable == {Denial.OVERLOADED}


def test_a_call_past_the_plans_length_expires_terminally():
    reply = protocol.session_expired(60)
    assert (reply.message["error_code"], reply.message["code"], reply.close_code) == (
        "SESSION_EXPIRED",
        5004,
        4008,
    )
    assert reply.message["error_message"] == "Session expired: calls last at most 60 minutes"
    assert len(reply.reason.encode()) <= protocol.MAX_REASON_BYTES
