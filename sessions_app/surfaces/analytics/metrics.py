"""GET /metrics: event counts and agent latency, as JSON or Prometheus text."""

from django.http import HttpResponse, JsonResponse

from sessions_app import agents
from sessions_app.services import events
from sessions_app.services.metrics import event_counts


def _wants_text(request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/plain" in accept or "application/openmetrics-text" in accept


def _prometheus(counts: dict[str, int], latency: dict[str, float], openmetrics: bool) -> str:
    # OpenMetrics names a counter family without "_total"; only its samples carry it.
    family = "parlance_events" if openmetrics else "parlance_events_total"
    lines = [
        f"# HELP {family} Analytics events emitted, by type.",
        f"# TYPE {family} counter",
        *(f'parlance_events_total{{type="{name}"}} {count}' for name, count in counts.items()),
        "# HELP parlance_agent_latency_ms Mean agent latency per utterance in this process, by agent.",
        "# TYPE parlance_agent_latency_ms gauge",
        *(
            f'parlance_agent_latency_ms{{agent="{name}"}} {value:.3f}'
            for name, value in latency.items()
        ),
    ]
    if openmetrics:
        lines.append("# EOF")
    return "\n".join(lines) + "\n"


async def metrics(request):
    counts = event_counts(events.POLICIES)
    latency = agents.agent_latency_ms()
    if _wants_text(request):
        openmetrics = "application/openmetrics-text" in request.headers.get("Accept", "")
        content_type = (
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
            if openmetrics
            else "text/plain; version=0.0.4; charset=utf-8"
        )
        return HttpResponse(_prometheus(counts, latency, openmetrics), content_type=content_type)
    return JsonResponse({"events": counts, "agent_latency_ms": {"utterance": 0.0, **latency}})
