"""POST /analyze: the AnalysisResponse, transcripts, speakers, artifacts and billing."""

import json
from decimal import Decimal

import pytest
from django.conf import settings

from billing import services as billing
from sessions_app.models import Session, SessionEvent
from tests.support import audio as media
from tests.support.analytics import analyze

pytestmark = pytest.mark.integration

RESPONSE_FIELDS = {
    "conversation_id",
    "utterances",
    "timeline",
    "summary",
    "insights",
    "transitions",
    "moments",
    "segmentation",
    "agent_results",
    "artifact_dir",
    "upload_path",
    "agent_outputs_path",
    "context",
}
TIMELINE_FIELDS = {
    "utterance_id": str,
    "speaker": str,
    "t_start": (int, float),
    "t_end": (int, float),
    "text": str,
    "asr_confidence": (int, float),
    "prosody": dict,
    "prosody_desc": str,
    "emotion": dict,
    "sentiment": dict,
    "polarity": (int, float),
    "subjectivity": (int, float),
    "cognitive": dict,
    "commitment_score": (int, float),
    "commitment_level": str,
    "passion_score": (int, float),
    "passion_level": str,
    "conviction_score": (int, float),
    "lexical_markers": dict,
    "acoustic_reasoning": str,
    "confidence": (int, float),
}
SUMMARY_FIELDS = {
    "overview": str,
    "key_insights": list,
    "notable_patterns": list,
    "recommendations": list,
    "what_went_well": list,
    "what_went_wrong": list,
    "speaker_dynamics": dict,
    "conversation_quality": str,
}
INSIGHTS_FIELDS = {
    "overall_sentiment": dict,
    "dominant_emotions": list,
    "engagement_pattern": str,
    "key_moments": list,
    "speaker_profiles": dict,
    "conversation_dynamics": dict,
    "cognitive_profile": dict,
}
SEGMENTATION_FIELDS = {
    "phases": list,
    "total_phases": int,
    "segmentation_rationale": str,
    "narrative_arc": str,
    "key_transitions": list,
}
PHASE_FIELDS = {
    "phase_id",
    "phase_name",
    "start_timestamp",
    "end_timestamp",
    "start_utterance_id",
    "end_utterance_id",
    "utterance_count",
    "theme",
    "summary",
    "emotional_tone",
    "key_moments",
    "transition_signal",
}


def assert_shape(obj: dict, fields: dict) -> None:
    missing = set(fields) - set(obj)
    assert not missing, f"missing {sorted(missing)}"
    for name, kind in fields.items():
        assert isinstance(obj[name], kind), f"{name} is {type(obj[name]).__name__}"
        assert not isinstance(obj[name], bool), name


def assert_segmentation(segmentation: dict) -> None:
    assert_shape(segmentation, SEGMENTATION_FIELDS)
    assert segmentation["phases"] and segmentation["total_phases"] == len(segmentation["phases"])
    for phase in segmentation["phases"]:
        assert set(phase) >= PHASE_FIELDS, sorted(PHASE_FIELDS - set(phase))
        assert phase["start_timestamp"] <= phase["end_timestamp"]
        assert isinstance(phase["utterance_count"], int) and phase["utterance_count"] >= 1
        assert isinstance(phase["key_moments"], list)
    for transition in segmentation["key_transitions"]:
        assert {"timestamp", "from_phase", "to_phase", "trigger"} <= set(transition)


def two_speakers(http, customer, **request):
    response = analyze(http, customer, "call.flac", media.fixture("two_speakers.flac"), **request)
    assert response.status_code == 200, response.text
    return response.json()


def test_analysis_response_has_every_documented_field(http, customer_with_credits):
    body = two_speakers(http, customer_with_credits, data={"context": "trust-building moments"})
    assert set(body) >= RESPONSE_FIELDS, sorted(RESPONSE_FIELDS - set(body))
    assert body["conversation_id"].startswith("analysis_")
    assert isinstance(body["utterances"], int) and body["utterances"] == len(body["timeline"]) >= 1
    assert_shape(body["summary"], SUMMARY_FIELDS)
    assert_shape(body["insights"], INSIGHTS_FIELDS)
    assert {"mean", "trend"} <= set(body["insights"]["overall_sentiment"])
    assert isinstance(body["transitions"], list) and isinstance(body["moments"], list)
    assert_segmentation(body["segmentation"])
    assert isinstance(body["agent_results"], list) and body["agent_results"]
    for name in ("artifact_dir", "upload_path", "agent_outputs_path"):
        assert isinstance(body[name], str) and body[name]
    assert body["context"] == "trust-building moments", "the context field is echoed"


def test_timeline_entries_follow_the_timeline_entry_schema(http, customer_with_credits):
    body = two_speakers(http, customer_with_credits)
    ids = [entry["utterance_id"] for entry in body["timeline"]]
    assert len(set(ids)) == len(ids), "utterance ids are unique"
    for entry in body["timeline"]:
        assert_shape(entry, TIMELINE_FIELDS)
        assert entry["speaker"].startswith("Speaker_")
        assert 0 <= entry["t_start"] < entry["t_end"]
        assert 0 <= entry["asr_confidence"] <= 1 and 0 <= entry["confidence"] <= 1
        assert -1 <= entry["polarity"] <= 1 and 0 <= entry["subjectivity"] <= 1
        assert entry["text"].strip()
    starts = [entry["t_start"] for entry in body["timeline"]]
    assert starts == sorted(starts), "the timeline is in time order"


def test_context_is_echoed_empty_when_not_sent(http, customer_with_credits):
    response = analyze(http, customer_with_credits, "speech.wav", media.fixture("speech.wav"))
    assert response.status_code == 200, response.text
    assert response.json()["context"] == ""


def test_jfk_transcript_contains_ask_not_what_your_country_can_do_for_you(
    http, customer_with_credits
):
    response = analyze(http, customer_with_credits, "jfk.ogg", media.fixture("jfk.ogg"))
    assert response.status_code == 200, response.text
    body = response.json()
    text = media.normalised(" ".join(entry["text"] for entry in body["timeline"]))
    assert media.JFK_LINE in text, text
    assert {entry["speaker"] for entry in body["timeline"]} == {"Speaker_0"}


def test_two_channel_call_gets_one_speaker_per_channel(http, customer_with_credits):
    body = two_speakers(http, customer_with_credits)
    by_speaker: dict[str, list[str]] = {}
    for entry in body["timeline"]:
        by_speaker.setdefault(entry["speaker"], []).append(entry["text"])
    assert set(by_speaker) == {"Speaker_0", "Speaker_1"}
    assert media.normalised(" ".join(by_speaker["Speaker_0"])) == media.normalised(media.LEFT)
    assert media.normalised(" ".join(by_speaker["Speaker_1"])) == media.normalised(media.RIGHT)


def test_stereo_file_with_identical_channels_is_one_speaker(
    http, customer_with_credits, jfk_identical_stereo
):
    response = analyze(http, customer_with_credits, "jfk_stereo.wav", jfk_identical_stereo)
    assert response.status_code == 200, response.text
    timeline = response.json()["timeline"]
    assert {entry["speaker"] for entry in timeline} == {"Speaker_0"}
    assert media.JFK_LINE in media.normalised(" ".join(entry["text"] for entry in timeline))


def test_summary_and_segmentation_span_the_whole_two_channel_call(http, customer_with_credits):
    body = two_speakers(http, customer_with_credits)
    end = max(entry["t_end"] for entry in body["timeline"])  # Speaker_0 talks until ~4.7 s
    assert body["segmentation"]["phases"][-1]["end_timestamp"] == pytest.approx(end)
    assert f"0m{round(end):02d}s" in body["summary"]["overview"], body["summary"]["overview"]


def test_artifacts_are_written_under_data_dir(http, customer_with_credits):
    audio = media.fixture("two_speakers.flac")
    body = two_speakers(http, customer_with_credits)
    root = settings.DATA_DIR / "conversations"
    directory = root / body["artifact_dir"]
    assert body["artifact_dir"] == body["conversation_id"]
    assert directory.is_dir(), directory
    for name in ("timeline.json", "summary.json", "segmentation.json", "agent_outputs.json"):
        assert (directory / name).is_file(), name
    assert json.loads((directory / "timeline.json").read_text()) == body["timeline"]
    assert json.loads((directory / "summary.json").read_text()) == body["summary"]
    assert json.loads((directory / "segmentation.json").read_text()) == body["segmentation"]
    outputs = root / body["agent_outputs_path"]
    assert outputs.parent == directory and outputs.name == "agent_outputs.json"
    assert json.loads(outputs.read_text()) == body["agent_results"]
    upload = root / body["upload_path"]
    assert upload.parent == directory and upload.suffix == ".flac"
    assert upload.read_bytes() == audio, "the upload is kept byte for byte"
    lines = [json.loads(line) for line in (directory / "events.jsonl").read_text().splitlines()]
    assert [line["event"] for line in lines][-1] == "done"
    assert [line["id"] for line in lines] == list(range(1, len(lines) + 1))


def test_analysis_is_billed_by_audio_duration_and_recorded_as_a_completed_session(
    http, customer_with_credits
):
    customer = customer_with_credits.customer
    response = analyze(http, customer_with_credits, "jfk.ogg", media.fixture("jfk.ogg"))
    assert response.status_code == 200, response.text
    # jfk.ogg lasts 11.0 s; 1 credit = 1 s of audio.
    assert float(billing.balance(customer)) == pytest.approx(100 - 11.0, abs=0.1)
    session = Session.objects.get(customer=customer)
    assert session.conversation_id == response.json()["conversation_id"]
    assert (session.kind, session.status) == ("analysis", "completed")
    assert float(session.billed_seconds) == pytest.approx(11.0, abs=0.1)
    assert session.ended_at is not None
    types = list(SessionEvent.objects.filter(session=session).values_list("type", flat=True))
    assert types[0] == "status" and types[-1] == "done"
    assert types.count("final_transcript") == response.json()["utterances"]


@pytest.mark.parametrize("where", ["data", "params"])
def test_own_config_id_is_accepted_as_form_field_or_query(http, customer_with_credits, where):
    config_id = customer_with_credits.config.public_id
    response = analyze(
        http,
        customer_with_credits,
        "speech.wav",
        media.fixture("speech.wav"),
        **{where: {"config_id": config_id}},
    )
    assert response.status_code == 200, response.text
    session = Session.objects.get(conversation_id=response.json()["conversation_id"])
    assert session.config_id == customer_with_credits.config.pk


def test_balance_is_exactly_what_the_session_billed(http, customer_with_credits):
    customer = customer_with_credits.customer
    response = analyze(http, customer_with_credits, "speech.wav", media.fixture("speech.wav"))
    assert response.status_code == 200, response.text
    session = Session.objects.get(customer=customer)
    assert billing.balance(customer) == Decimal("100") - session.billed_seconds
