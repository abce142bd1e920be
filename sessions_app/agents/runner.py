"""Per-utterance agent runner: runs each agent timed and isolated, and keeps latency stats.

A failing agent empties only its own fields, is logged, and is reported in `agent_results`
(`status` ok / failed / skipped, `latency_ms`, `error`); agents that depend on it see `{}` and
degrade (emotion without prosody is text-only). Nothing here raises on agent failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from .cognitive import analyze_cognitive, analyze_stance
from .emotion import analyze_emotion
from .lexical import lexical_markers, sentiment
from .prosody import ProsodyUnavailable, analyze_prosody
from .types import AnalysisContext, Utterance, UtteranceAnalysis, clamp01, r3

log = logging.getLogger("parlance.agents")

#: An agent gets the utterance, the context and the outputs of the agents before it.
AgentFn = Callable[[Utterance, AnalysisContext, dict[str, dict[str, Any]]], dict[str, Any]]


def _prosody(u: Utterance, c: AnalysisContext, r: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return analyze_prosody(u)


def _lexical(u: Utterance, c: AnalysisContext, r: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return lexical_markers(u)


def _sentiment(u: Utterance, c: AnalysisContext, r: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return sentiment(u)


def _emotion(u: Utterance, c: AnalysisContext, r: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return analyze_emotion(u, r["sentiment"], r["lexical"], r["prosody"], c)


def _cognitive(u: Utterance, c: AnalysisContext, r: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return analyze_cognitive(u, r["lexical"], r["sentiment"], r["emotion"], r["prosody"], c)


def _stance(u: Utterance, c: AnalysisContext, r: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return analyze_stance(u, r["lexical"], r["sentiment"], r["emotion"], r["prosody"])


#: Order matters: later agents read earlier outputs.
DEFAULT_UTTERANCE_AGENTS: dict[str, AgentFn] = {
    "prosody": _prosody,
    "lexical": _lexical,
    "sentiment": _sentiment,
    "emotion": _emotion,
    "cognitive": _cognitive,
    "stance": _stance,
}


class LatencyStats:
    """Thread-safe per-agent latency record (bounded window) for /metrics and the bench."""

    def __init__(self, window: int = 2000) -> None:
        self._lock = threading.Lock()
        self._samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=window))

    def record(self, agent: str, ms: float) -> None:
        with self._lock:
            self._samples[agent].append(ms)

    def mean_ms(self) -> dict[str, float]:
        """Mean latency per agent; key `utterance` is the whole per-utterance pipeline, as in
        the reference's `agent_latency_ms.utterance`."""
        with self._lock:
            return {k: round(sum(v) / len(v), 2) for k, v in self._samples.items() if v}

    def p95_ms(self) -> dict[str, float]:
        with self._lock:
            out = {}
            for k, v in self._samples.items():
                if v:
                    s = sorted(v)
                    out[k] = round(s[min(len(s) - 1, int(0.95 * len(s)))], 2)
            return out

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()


#: Process-wide stats, read by the /metrics view through `agent_latency_ms()`.
STATS = LatencyStats()


def agent_latency_ms() -> dict[str, float]:
    return STATS.mean_ms()


def run_timed(
    name: str, fn: Callable[[], Any], stats: LatencyStats | None, tag: str = ""
) -> tuple[Any, dict[str, Any]]:
    """Run one agent; return (output or None, agent_result). Never raises."""
    t0 = time.perf_counter()
    try:
        out = fn()
        status, error = "ok", None
    except ProsodyUnavailable as exc:
        out, error = None, str(exc)
        status = "skipped" if error == "no audio" else "failed"
    except Exception as exc:  # an agent bug must not take the conversation down
        out, status, error = None, "failed", f"{type(exc).__name__}: {exc}"
        log.warning("[%s] agent %s failed: %s", tag, name, error, exc_info=True)
    ms = (time.perf_counter() - t0) * 1000.0
    if stats is not None:
        stats.record(name, ms)
    return out, {"status": status, "latency_ms": round(ms, 2), "error": error}


class UtteranceAnalyzer:
    """Runs the per-utterance agents. Pass `agents` to replace or add one (tests inject a
    failing agent this way; a deployment could add a model-based emotion agent)."""

    def __init__(
        self, agents: dict[str, AgentFn] | None = None, stats: LatencyStats | None = None
    ) -> None:
        self.agents = dict(DEFAULT_UTTERANCE_AGENTS if agents is None else agents)
        self.stats = STATS if stats is None else stats

    def analyze(self, utt: Utterance, context: AnalysisContext | None = None) -> UtteranceAnalysis:
        ctx = context or AnalysisContext()
        t0 = time.perf_counter()
        outputs: dict[str, dict[str, Any]] = {name: {} for name in DEFAULT_UTTERANCE_AGENTS}
        results: dict[str, dict[str, Any]] = {}
        for name, fn in self.agents.items():
            out, res = run_timed(
                name, lambda fn=fn: fn(utt, ctx, outputs), self.stats, ctx.conversation_id
            )
            outputs[name] = out if isinstance(out, dict) else {}
            if out is not None and not isinstance(out, dict):
                res = {**res, "status": "failed", "error": "agent returned a non-dict"}
            results[name] = res
        a = _assemble(utt, outputs, results)
        self.stats.record("utterance", (time.perf_counter() - t0) * 1000.0)
        return a


def _assemble(
    utt: Utterance, o: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]]
) -> UtteranceAnalysis:
    st, sen, emo, lex, pro = o["stance"], o["sentiment"], o["emotion"], o["lexical"], o["prosody"]
    confs = [clamp01(utt.asr_confidence)]
    if emo:
        confs.append(float(emo.get("confidence", 0.0)))
    if sen:
        confs.append(0.6 + 0.35 * abs(float(sen.get("compound", 0.0))))
    if lex:
        confs.append(1.0 - float(lex.get("low_confidence_word_ratio", 0.0)))
    if pro:
        confs.append(0.5 + 0.45 * min(1.0, 2.0 * float(pro.get("voiced_fraction", 0.0))))
    return UtteranceAnalysis(
        utterance=utt,
        prosody=pro,
        prosody_desc=st.get("prosody_desc", ""),
        emotion=emo,
        sentiment=sen,
        polarity=float(sen.get("polarity", 0.0)),
        subjectivity=float(sen.get("subjectivity", 0.0)),
        cognitive=o["cognitive"],
        commitment_score=float(st.get("commitment_score", 0.0)),
        commitment_level=st.get("commitment_level", "low"),
        passion_score=float(st.get("passion_score", 0.0)),
        passion_level=st.get("passion_level", "low"),
        conviction_score=float(st.get("conviction_score", 0.0)),
        lexical_markers=lex,
        acoustic_reasoning=st.get("acoustic_reasoning", ""),
        confidence=r3(sum(confs) / len(confs)),
        agent_results=results,
    )


_DEFAULT = UtteranceAnalyzer()


def analyze_utterance(utt: Utterance, context: AnalysisContext | None = None) -> UtteranceAnalysis:
    """Run the default per-utterance agents on one utterance (see UtteranceAnalyzer)."""
    return _DEFAULT.analyze(utt, context)
