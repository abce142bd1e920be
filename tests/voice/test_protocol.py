"""The NextEVI voice wire format, client side: every client message in the SDK's, the LiveKit
plugin's and the docs' shapes, and the connection's query (server messages: test_server_messages)."""

import base64
import json
from urllib.parse import quote

import numpy as np
import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.testing import WebsocketCommunicator

from accounts import credentials, tokens
from accounts.websocket import CredentialMiddleware, scope_query
from kernel.errors import AccessDenied, Denial
from sessions_app.surfaces.voice import protocol
from sessions_app.surfaces.voice.protocol import (
    AudioInput,
    CallSettings,
    Interrupt,
    KeepAlive,
    SessionSettings,
    TextInput,
    VoiceError,
)

SDK_FIRST_MESSAGE = (
    '{"type":"session_settings","sample_rate":24000,"channels":1,"encoding":"linear16"}'
)
# The docs' envelope example (reference §9.6).
DOCS_SETTINGS = {
    "type": "session_settings",
    "timestamp": 1645123456.789,
    "message_id": "settings-1",
    "data": {
        "emotion_detection": {"enabled": True},
        "turn_detection": {"enabled": True, "silence_threshold": 0.5},
        "audio": {"sample_rate": 24000, "channels": 1, "encoding": "linear16"},
    },
}


def parse(message: dict) -> protocol.ClientMessage:
    return protocol.parse_client_message(json.dumps(message))


def flat(kind: str, **fields) -> dict:
    return {"type": kind, **fields}


def wrapped(kind: str, **fields) -> dict:
    return {"type": kind, "timestamp": 1645123456.789, "message_id": f"{kind}-1", "data": fields}


def refused(message: dict | str) -> VoiceError:
    text = message if isinstance(message, str) else json.dumps(message)
    with pytest.raises(VoiceError) as caught:
        protocol.parse_client_message(text)
    return caught.value


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- client messages -------------------------------------------------------------------
def test_the_sdks_exact_first_message_is_the_default_audio_format():
    parsed = protocol.parse_client_message(SDK_FIRST_MESSAGE)
    assert parsed == SessionSettings(sample_rate=24000, channels=1, encoding="linear16")
    assert CallSettings().updated(parsed) == CallSettings()


def test_the_docs_envelope_example_is_read_from_data():
    parsed = parse(DOCS_SETTINGS)
    assert parsed == SessionSettings(
        sample_rate=24000,
        channels=1,
        encoding="linear16",
        silence_threshold=0.5,
        emotion_detection=True,
    )


EVERYTHING = {
    "audio": {"sample_rate": 16000, "channels": 2, "encoding": "pcm"},
    "turn_detection": {"silence_threshold": 0.9, "interrupt_threshold": 0.7},
    "idle_timeout": {"warning_timeout": 5, "hangup_timeout": 8, "enabled": False},
    "emotion_detection": {"enabled": False},
    "half_duplex": True,
}
EVERYTHING_PARSED = SessionSettings(
    sample_rate=16000,
    channels=2,
    encoding="pcm",
    silence_threshold=0.9,
    interrupt_threshold=0.7,
    idle_enabled=False,
    idle_warning_timeout=5.0,
    idle_hangup_timeout=8.0,
    emotion_detection=False,
    half_duplex=True,
)
PCM = b"\x01\x00\xff\x7f" * 8


@pytest.mark.parametrize("shape", [flat, wrapped])
@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        ("session_settings", EVERYTHING, EVERYTHING_PARSED),
        ("audio_input", {"audio": b64(PCM), "chunk_id": "chunk-001"}, AudioInput(PCM, "chunk-001")),
        ("audio_input", {"audio": b64(PCM)}, AudioInput(PCM)),
        ("keep_alive", {}, KeepAlive()),
        ("text_input", {"text": " what's the weather like "}, TextInput("what's the weather like")),
        ("interrupt", {}, Interrupt()),
    ],
)  # fmt: skip
def test_every_client_message_is_read_in_both_shapes(shape, kind, fields, expected):
    assert parse(shape(kind, **fields)) == expected


def test_the_sdks_flat_audio_format_is_read_beside_nested_sections():
    parsed = parse(
        flat(
            "session_settings",
            sample_rate=16000,
            idle_timeout={"warning_timeout": 30, "hangup_timeout": 60, "enabled": True},
        )
    )
    assert parsed == SessionSettings(
        sample_rate=16000, idle_enabled=True, idle_warning_timeout=30.0, idle_hangup_timeout=60.0
    )


def test_keep_alive_without_data_is_accepted():
    assert (
        protocol.parse_client_message('{"type":"keep_alive","message_id":"ping-1"}') == KeepAlive()
    )


def test_null_is_absent_and_unknown_keys_are_ignored():
    parsed = parse(
        flat(
            "session_settings",
            sample_rate=None,
            audio=None,
            turn_detection={"silence_threshold": None, "mode": "adaptive"},
            idle_timeout={"enabled": None},
            brand_new_option={"x": 1},
            half_duplex=None,
        )
    )
    assert parsed == SessionSettings()
    assert parse(flat("audio_input", audio=b64(PCM), chunk_id=None)) == AudioInput(PCM)


def test_idle_timeout_defaults_are_30_60_and_enabled():
    settings = CallSettings()
    assert (settings.idle_warning_timeout, settings.idle_hangup_timeout, settings.idle_enabled) == (
        30.0,
        60.0,
        True,
    )
    assert settings.idle_schedule() == (30.0, 50.0, 60.0)


def test_idle_schedule_warns_then_warns_finally_then_hangs_up():
    settings = CallSettings().updated(
        parse(flat("session_settings", idle_timeout={"warning_timeout": 1, "hangup_timeout": 2}))
    )
    assert settings.idle_schedule() == (1.0, 1.5, 2.0)
    steps = [settings.idle_message(step) for step in range(3)]
    assert [(m["type"], m.get("warning_type"), m.get("time_remaining")) for m in steps[:2]] == [
        ("idle_warning", "warning", 1.0),
        ("idle_warning", "final_warning", 0.5),
    ]
    assert (steps[2]["type"], steps[2]["message_type"]) == ("system_message", "hangup")
    assert len(protocol.IDLE_HANGUP_REASON.encode()) <= protocol.MAX_REASON_BYTES


def test_disabled_idle_timeout_has_no_schedule():
    settings = CallSettings().updated(SessionSettings(idle_enabled=False))
    assert settings.idle_schedule() == ()


def test_a_mid_session_update_keeps_what_it_does_not_send():
    first = CallSettings().updated(parse(flat("session_settings", **EVERYTHING)))
    second = first.updated(parse(wrapped("session_settings", half_duplex=False)))
    assert second == CallSettings(
        sample_rate=16000,
        channels=2,
        encoding="pcm",
        silence_threshold=0.9,
        interrupt_threshold=0.7,
        idle_enabled=False,
        idle_warning_timeout=5.0,
        idle_hangup_timeout=8.0,
        emotion_detection=False,
        half_duplex=False,
    )


@pytest.mark.parametrize(("given", "used"), [(0.05, 0.2), (0.6, 0.6), ("0.8", 0.8), (5, 2.0)])
def test_silence_threshold_is_clamped_to_the_engines_range(given, used):
    parsed = parse(wrapped("session_settings", turn_detection={"silence_threshold": given}))
    assert parsed.silence_threshold == used


@pytest.mark.parametrize(("given", "used"), [(0, 0.2), (0.5, 0.5), (10, 3.0)])
def test_interrupt_threshold_is_clamped(given, used):
    parsed = parse(flat("session_settings", turn_detection={"interrupt_threshold": given}))
    assert parsed.interrupt_threshold == used


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 24000.0, "24000"])
def test_any_rate_from_8_to_48_khz_is_accepted(rate):
    assert parse(flat("session_settings", sample_rate=rate)).sample_rate == int(float(rate))


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"sample_rate": 7999}, "sample_rate", "between 8000 and 48000 Hz"),
        ({"sample_rate": 48001}, "sample_rate", "between 8000 and 48000 Hz"),
        ({"sample_rate": 22050.5}, "sample_rate", "between 8000 and 48000 Hz"),
        ({"sample_rate": "fast"}, "sample_rate", "must be a number"),
        ({"sample_rate": True}, "sample_rate", "must be a number"),
        ({"audio": {"channels": 3}}, "channels", "1 (mono) or 2 (stereo)"),
        ({"encoding": "opus"}, "encoding", "linear16"),
    ],
)
def test_an_unsupported_audio_format_is_refused_with_a_clear_message(fields, field, words):
    error = refused(flat("session_settings", **fields))
    assert (error.code, error.details) == ("AUDIO_FORMAT_UNSUPPORTED", {"field": field})
    assert words in error.message


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"idle_timeout": {"warning_timeout": 0}}, "idle_timeout.warning_timeout"),
        ({"idle_timeout": {"hangup_timeout": -5}}, "idle_timeout.hangup_timeout"),
        ({"idle_timeout": {"enabled": "maybe"}}, "idle_timeout.enabled"),
        ({"idle_timeout": 30}, "idle_timeout"),
        ({"turn_detection": {"silence_threshold": "long"}}, "turn_detection.silence_threshold"),
        ({"turn_detection": {"silence_threshold": "nan"}}, "turn_detection.silence_threshold"),
        ({"half_duplex": "sometimes"}, "half_duplex"),
    ],
)
def test_bad_setting_values_are_refused_naming_the_field(fields, field):
    error = refused(wrapped("session_settings", **fields))
    assert (error.code, error.details) == ("INVALID_MESSAGE_FORMAT", {"field": field})


def test_a_hangup_before_the_warning_is_refused():
    update = parse(flat("session_settings", idle_timeout={"hangup_timeout": 20}))
    with pytest.raises(VoiceError) as caught:
        CallSettings().updated(update)
    assert caught.value.code == "INVALID_MESSAGE_FORMAT"
    assert caught.value.message == (
        "idle_timeout.hangup_timeout (20 s) must be longer than warning_timeout (30 s)"
    )


@pytest.mark.parametrize("kind", ["test_connection", "user_input", "pause_assistant_message"])
def test_an_unknown_type_is_unsupported(kind):
    error = refused({"type": kind})
    assert error.code == "UNSUPPORTED_MESSAGE_TYPE"
    assert error.details == {
        "type": kind,
        "supported": ["audio_input", "interrupt", "keep_alive", "session_settings", "text_input"],
    }


@pytest.mark.parametrize(
    "text",
    ["{not json", "", '["session_settings"]', '"keep_alive"', "{}", '{"type": 3}', '{"type": ""}'],
)
def test_malformed_json_not_an_object_or_no_type_is_an_invalid_format(text):
    assert refused(text).code == "INVALID_MESSAGE_FORMAT"


@pytest.mark.parametrize("shape", [flat, wrapped])
@pytest.mark.parametrize(
    ("audio", "reason"),
    [
        ("not base64!", "audio is not valid base64"),
        (b64(b"\x00\x01\x02"), "odd number of bytes: PCM16 samples are 2 bytes each"),
        ("", "empty audio chunk"),
    ],
)
def test_undecodable_audio_is_an_audio_processing_failure_with_details(shape, audio, reason):
    error = refused(shape("audio_input", audio=audio, chunk_id="chunk-001"))
    assert (error.code, error.message) == (
        "AUDIO_PROCESSING_FAILED",
        "Failed to process audio chunk",
    )
    assert error.details == {"chunk_id": "chunk-001", "reason": reason}


def test_audio_input_without_audio_is_an_invalid_format():
    error = refused(flat("audio_input", chunk_id=7))
    assert (error.code, error.details) == (
        "INVALID_MESSAGE_FORMAT",
        {"chunk_id": "7", "field": "audio"},
    )


def test_a_chunk_over_1_mb_is_too_large():
    error = refused(
        wrapped("audio_input", audio=b64(bytes(protocol.MAX_AUDIO_BYTES + 2)), chunk_id="c")
    )
    assert (error.code, error.details["chunk_id"]) == ("AUDIO_CHUNK_TOO_LARGE", "c")
    with pytest.raises(VoiceError) as caught:
        protocol.pcm_frame(bytes(protocol.MAX_AUDIO_BYTES + 2))
    assert caught.value.code == "AUDIO_CHUNK_TOO_LARGE"
    assert refused("x" * (protocol.MAX_TEXT_CHARS + 1)).code == "AUDIO_CHUNK_TOO_LARGE"


def test_a_1_mb_chunk_is_accepted():
    pcm = bytes(protocol.MAX_AUDIO_BYTES)
    assert parse(flat("audio_input", audio=b64(pcm))) == AudioInput(pcm)


def test_the_sdks_4096_byte_binary_frame_is_audio_and_an_odd_one_is_not():
    frame = bytes(range(256)) * 16
    assert protocol.pcm_frame(frame) == frame
    with pytest.raises(VoiceError) as caught:
        protocol.pcm_frame(frame[:-1])
    assert (caught.value.code, caught.value.details) == (
        "AUDIO_PROCESSING_FAILED",
        {"reason": "odd number of bytes: PCM16 samples are 2 bytes each"},
    )


def test_stereo_is_averaged_to_mono():
    stereo = np.array([[100, 300], [-100, -300], [32767, 32767]], dtype="<i2").tobytes()
    mono = np.frombuffer(protocol.to_mono(stereo, 2), dtype="<i2")
    assert mono.tolist() == [200, -200, 32767]
    with pytest.raises(VoiceError):
        protocol.to_mono(stereo[:-2], 2)
    assert protocol.to_mono(stereo, 1) is stereo


# -- the connection --------------------------------------------------------------------
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.mark.parametrize("space", ["+", "%20"])
def test_the_query_is_decoded_form_style(space):
    query = scope_query(
        {
            "query_string": f"authorization=Bearer{space}{JWT}&project_id=proj_1&config_id=cfg_1".encode()
        }
    )
    assert query == {"authorization": f"Bearer {JWT}", "project_id": "proj_1", "config_id": "cfg_1"}
    assert credentials.extract({}, query).secret == JWT
    assert protocol.required_config_id(query) == "cfg_1"


class _WhoAmI(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
        principal, denial = self.scope["principal"], self.scope["denial"]
        await self.send_json(
            {
                "project": principal and principal.token_project_id,
                "denial": denial and denial.detail,
            }
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("space", ["+", "%20"])
async def test_a_jwt_in_the_query_resolves_with_plus_or_percent_20(customer_with_credits, space):
    c = customer_with_credits
    token = tokens.issue(
        customer_id=str(c.customer.public_id),
        project_id=c.project.public_id,
        key_prefix=c.api_key.prefix,
    ).token
    path = f"/ws/voice/voice_1724598000000_k3j9x0abc?authorization=Bearer{space}{quote(token)}"
    communicator = WebsocketCommunicator(CredentialMiddleware(_WhoAmI.as_asgi()), path)
    assert (await communicator.connect())[0]
    assert await communicator.receive_json_from() == {
        "project": c.project.public_id,
        "denial": None,
    }
    await communicator.disconnect()


@pytest.mark.parametrize("query", [{}, {"config_id": " "}, {"project_id": "proj_1"}])
def test_config_id_is_required(query):
    with pytest.raises(AccessDenied) as caught:
        protocol.required_config_id(query)
    assert (caught.value.denial, caught.value.detail) == (
        Denial.CONFIG_NOT_FOUND,
        "config_id is required",
    )


def test_a_protocol_error_is_told_as_raised():
    error = refused(flat("audio_input", audio="!!", chunk_id="c-9"))
    message = protocol.error_of(error)
    assert (message["error_code"], message["code"], message["details"]) == (
        "AUDIO_PROCESSING_FAILED",
        5001,
        {"chunk_id": "c-9", "reason": "audio is not valid base64"},
    )
