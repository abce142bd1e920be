"""GET /metrics: event counts and agent latency, as JSON or Prometheus/OpenMetrics text."""

import re

import pytest

from tests.support import audio as media
from tests.support.analytics import analyze

pytestmark = pytest.mark.integration

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def metrics(http, accept: str | None = None):
    response = http.get("/metrics", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, response.text
    return response


def samples(text: str) -> dict[str, float]:
    """Sample lines, as {'name{labels}': value}; every other line must be a comment."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        out[f"{match['name']}{{{match['labels']}}}"] = float(match["value"])
    return out


def test_metrics_json_reports_event_counts_and_agent_latency(http, customer_with_credits):
    analyze(http, customer_with_credits, "speech.wav", media.fixture("speech.wav"))
    response = metrics(http)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"events", "agent_latency_ms"}
    assert body["events"] and all(
        isinstance(name, str) and isinstance(count, int) and count >= 0
        for name, count in body["events"].items()
    )
    latency = body["agent_latency_ms"]
    assert isinstance(latency["utterance"], float) and latency["utterance"] > 0
    assert all(isinstance(value, int | float) and value >= 0 for value in latency.values())


def test_metrics_need_no_api_key(http):
    assert metrics(http).json()["events"] is not None


def test_event_counts_grow_with_each_analysis(http, customer_with_credits):
    before = metrics(http).json()["events"]
    response = analyze(http, customer_with_credits, "speech.wav", media.fixture("speech.wav"))
    assert response.status_code == 200, response.text
    after = metrics(http).json()["events"]
    grown = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    utterances = response.json()["utterances"]
    assert grown["final_transcript"] == utterances >= 1
    assert grown["emotion"] == grown["cognitive"] == utterances
    assert grown["summary_update"] == grown["done"] == 1
    assert grown["status"] >= 2 and grown["error"] == 0


def test_prometheus_text_when_asked_for_text_plain(http, customer_with_credits):
    analyze(http, customer_with_credits, "speech.wav", media.fixture("speech.wav"))
    response = metrics(http, "text/plain")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'parlance_events_total{type="final_transcript"}' in text
    assert "# TYPE parlance_events_total counter" in text
    values = samples(text)
    assert values['parlance_events_total{type="final_transcript"}'] >= 1
    assert values['parlance_agent_latency_ms{agent="utterance"}'] > 0
    assert "# EOF" not in text, "EOF belongs to OpenMetrics only"
    json_counts = metrics(http).json()["events"]
    for name, count in json_counts.items():
        assert values[f'parlance_events_total{{type="{name}"}}'] == count


def test_openmetrics_text_ends_with_eof(http, customer_with_credits):
    response = metrics(http, "application/openmetrics-text; version=1.0.0")
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    assert response.text.count("# EOF") == 1
    samples(response.text.removesuffix("# EOF\n"))


def test_openmetrics_counter_samples_carry_the_family_name_plus_total(http):
    text = metrics(http, "application/openmetrics-text").text
    counters = re.findall(r"^# TYPE (\S+) counter$", text, re.MULTILINE)
    assert counters
    for family in counters:
        assert not family.endswith("_total"), f"counter family {family} ends in _total"
        assert re.search(rf"^{family}_total\{{", text, re.MULTILINE), family
