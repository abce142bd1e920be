"""Summary agent: a pluggable ConversationSummary (reference §10.2) producer.

`Summariser` is the protocol; `register_summariser` / `get_summariser` the registry. The
default, `offline`, is extractive and structural: it reads the moments, phases, emotional arc
and speaker statistics already computed and writes sentences a reader can act on, with
`[mm:ss]` references. `openai_compatible` is the configuration seam for a later model-backed
summariser; it performs no network calls yet and fails cleanly, which makes the tracker fall
back to the offline summary (the reference's "fallback text" behaviour).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .insights import speaker_stats
from .types import Moment, Transition, UtteranceAnalysis, fmt_ts

SUMMARY_KEYS = (
    "overview", "key_insights", "notable_patterns", "recommendations", "what_went_well",
    "what_went_wrong", "speaker_dynamics", "conversation_quality",
)  # fmt: skip


@dataclass(slots=True)
class ConversationView:
    """Everything a summariser may read; built by the tracker at the end of a conversation."""

    conversation_id: str
    focus: str
    analyses: list[UtteranceAnalysis]
    moments: list[Moment] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    segmentation: dict[str, Any] = field(default_factory=dict)
    insights: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Summariser(Protocol):
    name: str

    def summarise(self, view: ConversationView) -> dict[str, Any]: ...


class SummariserUnavailable(RuntimeError):
    """The configured summariser cannot run (not configured, unreachable, bad output)."""


_REGISTRY: dict[str, Callable[..., Summariser]] = {}


def register_summariser(name: str, factory: Callable[..., Summariser]) -> None:
    _REGISTRY[name] = factory


def get_summariser(name: str = "offline", **options: Any) -> Summariser:
    try:
        return _REGISTRY[name](**options)
    except KeyError:
        raise SummariserUnavailable(f"unknown summariser {name!r}") from None


def available_summarisers() -> list[str]:
    return sorted(_REGISTRY)


def validate_summary(summary: Any) -> dict[str, Any]:
    """Check a summariser's output against the schema; raise SummariserUnavailable if not."""
    if not isinstance(summary, dict):
        raise SummariserUnavailable("summary is not an object")
    for k in ("key_insights", "notable_patterns", "recommendations", "what_went_well",
              "what_went_wrong"):  # fmt: skip
        if not isinstance(summary.get(k), list) or not all(isinstance(x, str) for x in summary[k]):
            raise SummariserUnavailable(f"summary.{k} must be a list of strings")
    for k in ("overview", "conversation_quality"):
        if not isinstance(summary.get(k), str):
            raise SummariserUnavailable(f"summary.{k} must be a string")
    if not isinstance(summary.get("speaker_dynamics"), dict):
        raise SummariserUnavailable("summary.speaker_dynamics must be an object")
    return {k: summary[k] for k in SUMMARY_KEYS}


def _q(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


class OfflineSummariser:
    """Extractive, rule-based summary: no model, deterministic, ~1 ms."""

    name = "offline"

    def summarise(self, view: ConversationView) -> dict[str, Any]:
        an = view.analyses
        if not an:
            return {k: ([] if k not in ("overview", "conversation_quality", "speaker_dynamics")
                        else {} if k == "speaker_dynamics" else "") for k in SUMMARY_KEYS}  # fmt: skip
        stats = speaker_stats(an, view.moments)
        profiles = stats["profiles"]
        # Speakers overlap on two-channel calls: the last to start need not end last.
        dur = max(a.utterance.t_end for a in an) - an[0].utterance.t_start
        cats = Counter(m.category for m in view.moments)
        phases = view.segmentation.get("phases", [])
        arc = view.segmentation.get("narrative_arc", "")
        v_start = sum(a.valence for a in an[:3]) / len(an[:3])
        v_end = sum(a.valence for a in an[-3:]) / len(an[-3:])
        problems = [
            m for m in view.moments if m.category in ("complaint", "objection", "escalation")
        ]
        fixes = [
            m for m in view.moments if m.category in ("resolution", "cta_commit", "commitment")
        ]
        last_problem = max((m.start_ms for m in problems), default=-1)
        resolved = any(m.start_ms > last_problem for m in fixes) if problems else bool(fixes)

        # overview
        spk_txt = ", ".join(
            f"{s} ({p['talk_share'] * 100:.0f}% of talk)" for s, p in profiles.items()
        )
        mins, secs = divmod(round(dur), 60)
        overview = (
            f"{len(profiles)} speaker(s) — {spk_txt} — over {mins}m{secs:02d}s and {len(an)} "
            f"utterances."
        )
        if phases:
            overview += " Flow: " + " → ".join(p["phase_name"] for p in phases) + "."
        if cats:
            overview += (
                " Detected "
                + ", ".join(
                    f"{n} {c.replace('_', ' ')}{'s' if n > 1 else ''}"
                    for c, n in cats.most_common(4)
                )
                + "."
            )
        mood = (
            "improved"
            if v_end - v_start >= 0.1
            else "worsened"
            if v_start - v_end >= 0.1
            else "held steady"
        )
        overview += f" The emotional tone {mood} (valence {v_start:.2f} → {v_end:.2f})"
        if problems:
            overview += "; the issues raised were " + ("addressed" if resolved else "left open")
        overview += "."

        # key insights: the strongest moment of each category first, then the biggest swing
        insights: list[str] = []
        seen: set[str] = set()
        for m in sorted(view.moments, key=lambda m: -m.confidence):
            if m.category in seen or (m.category == "question" and len(insights) >= 3):
                continue
            seen.add(m.category)
            insights.append(f"{fmt_ts(m.start_ms / 1000)} {m.summary}")
            if len(insights) >= 5:
                break
        if view.transitions:
            t = max(view.transitions, key=lambda t: abs(t.drivers.get("valence_delta", 0)))
            insights.append(
                f"{fmt_ts(t.at_ms / 1000)} {t.from_state['speaker']} shifted from "
                f"{t.from_state['mood']} to {t.to_state['mood']} "
                f"({t.drivers.get('emotion_shift', '')})."
            )
        insights.sort()  # "[mm:ss]" prefixes sort chronologically

        # patterns
        patterns = [f"Turn-taking: {stats['talk_balance']}, {stats['turns']} turns"
                    + (f", mean response gap {stats['mean_response_gap_s']:.1f}s" if len(profiles) > 1 else "")
                    + (f", {stats['overlaps']} overlaps" if stats["overlaps"] else "") + "."]  # fmt: skip
        for s, p in profiles.items():
            bits = [f"mostly {p['dominant_emotion']}", f"engagement {p['mean_engagement']:.2f}"]
            if p["questions"]:
                bits.append(f"{p['questions']} question(s)")
            if p["hedges"] >= 2:
                bits.append(f"{p['hedges']} hedges")
            patterns.append(f"{s}: " + ", ".join(bits) + ".")
        if arc:
            patterns.append(f"Narrative arc: {arc}.")
        trend = view.insights.get("overall_sentiment", {}).get("trend")
        if trend:
            patterns.append(f"Sentiment trend: {trend}.")

        well, wrong, recs = [], [], []
        if resolved and problems:
            well.append("Issues raised were followed by a resolution or commitment.")
        for m in fixes[:2]:
            well.append(f"{fmt_ts(m.start_ms / 1000)} {m.summary}")
        if v_end - v_start >= 0.1:
            well.append("The tone improved from start to end.")
        if stats["talk_balance"] == "balanced":
            well.append("Talk time was balanced between speakers.")
        if cats["question"] >= 2:
            well.append(f"{cats['question']} questions kept the conversation exploratory.")
        for m in problems[:3]:
            wrong.append(f"{fmt_ts(m.start_ms / 1000)} {m.summary}")
        if cats["escalation"]:
            wrong.append("The conversation escalated at least once.")
        if v_start - v_end >= 0.1:
            wrong.append("The tone worsened from start to end.")
        if stats["talk_balance"].startswith("dominated"):
            wrong.append(f"Talk time was {stats['talk_balance']}.")

        open_objs = [m for m in view.moments if m.category == "objection" and m.start_ms > max(
            (f.start_ms for f in fixes), default=-1)]  # fmt: skip
        for m in open_objs[:2]:
            recs.append(
                f"Follow up on the objection at {fmt_ts(m.start_ms / 1000)}: “{_q(m.evidence.get('text', ''), 60)}”."
            )
        if problems and not resolved:
            recs.append("Close the loop on the unresolved complaint with a concrete fix and date.")
        if cats["cta_commit"] or cats["commitment"]:
            recs.append("Confirm the agreed next step in writing and schedule the follow-up.")
        if stats["talk_balance"].startswith("dominated"):
            recs.append("Give the other party more room: ask open questions and pause.")
        if cats["question"] == 0 and len(profiles) > 1:
            recs.append("Ask discovery questions to understand needs before proposing.")
        if cats["escalation"]:
            recs.append("Acknowledge the frustration early to prevent escalation.")
        if not recs:
            recs.append("No action required; keep the current approach.")
        if view.focus:
            recs.append(f"Requested focus — {_q(view.focus, 100)}: see the key insights above.")

        score = (
            len(well)
            - len(wrong)
            + (1 if resolved else 0)
            - (2 if problems and not resolved else 0)
        )
        quality = (
            "excellent"
            if score >= 3
            else "good"
            if score >= 1
            else "fair"
            if score >= -1
            else "poor"
        )
        dynamics = {
            "speakers": profiles,
            "turns": stats["turns"],
            "talk_balance": stats["talk_balance"],
            "dominant_speaker": stats["dominant_speaker"],
            "mean_response_gap_s": stats["mean_response_gap_s"],
            "overlaps": stats["overlaps"],
        }
        return {
            "overview": overview,
            "key_insights": insights,
            "notable_patterns": patterns,
            "recommendations": recs,
            "what_went_well": well,
            "what_went_wrong": wrong,
            "speaker_dynamics": dynamics,
            "conversation_quality": quality,
        }


class OpenAICompatibleSummariser:
    """Configuration seam for an OpenAI-compatible chat endpoint (`base_url`, `model`,
    `api_key`). Not implemented: calling it raises SummariserUnavailable so the tracker falls
    back to the offline summary. An implementation would send the ConversationView's timeline
    and the offline summary as context and validate the reply with `validate_summary`."""

    name = "openai_compatible"

    def __init__(
        self,
        base_url: str = "",
        model: str = "",
        api_key: str | None = None,
        timeout_s: float = 20.0,
    ) -> None:
        self.base_url, self.model, self.api_key, self.timeout_s = (
            base_url,
            model,
            api_key,
            timeout_s,
        )

    def summarise(self, view: ConversationView) -> dict[str, Any]:
        raise SummariserUnavailable("openai_compatible summariser is not implemented in this build")


register_summariser("offline", OfflineSummariser)
register_summariser("openai_compatible", OpenAICompatibleSummariser)
