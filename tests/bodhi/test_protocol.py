"""The Bodhi config message and end-of-input marker, as clients send them."""

import uuid

import pytest

from sessions_app.surfaces.bodhi import protocol


def config(**fields) -> dict:
    return {
        "config": {
            "sample_rate": 8000,
            "transaction_id": str(uuid.uuid4()),
            "model": "en-general-v2-8khz",
            **fields,
        }
    }


@pytest.mark.parametrize("value", [1, "1"])
def test_eof_is_accepted_as_number_or_string(value):
    assert protocol.is_eof({"eof": value})


@pytest.mark.parametrize("value", [0, "0", None, "yes"])
def test_other_eof_values_are_not_end_of_input(value):
    assert not protocol.is_eof({"eof": value})


def test_null_is_absent_and_unknown_keys_are_ignored():
    parsed = protocol.parse_stream_config(
        config(parse_number=None, hotwords=None, aux=None, brand_new_option={"x": 1}, channels=1)
    )
    assert (parsed.parse_number, parsed.hotwords, parsed.aux) == (False, [], False)


def test_hotword_score_defaults_and_booleans_as_strings():
    parsed = protocol.parse_stream_config(
        config(
            hotwords=[{"phrase": "loan", "score": None}, {"phrase": "EMI", "score": "4.5"}],
            aux="TRUE",
        )
    )
    assert [(h.phrase, h.score) for h in parsed.hotwords] == [("loan", 1.5), ("EMI", 4.5)]
    assert parsed.aux is True


@pytest.mark.parametrize(("given", "used"), [(0.1, 0.44), (0.8, 0.8), (5, 1.2)])
def test_endpoint_silence_is_clamped(given, used):
    assert (
        protocol.parse_stream_config(config(endpoint_silence_duration=given)).endpoint_silence
        == used
    )


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_any_rate_from_8_to_48_khz_is_accepted(rate):
    assert protocol.parse_stream_config(config(sample_rate=rate)).sample_rate == rate


def test_eos_message_is_a_partial_unless_partials_are_excluded():
    with_partials = protocol.end_of_stream_message("call", 2, 12.0, partials=True)
    assert (with_partials["type"], with_partials["eos"], with_partials["text"]) == (
        "partial",
        True,
        "",
    )
    only_completes = protocol.end_of_stream_message("call", 2, 12.0, partials=False)
    assert (only_completes["type"], only_completes["eos"]) == ("complete", True)
    assert only_completes["segment_meta"]["words"] == [], "shaped like every complete"
