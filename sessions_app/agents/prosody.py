"""Voice agent: prosodic and voice-quality features of one utterance, with Praat (parselmouth).

Why these and not more: they are the features the affect literature ties to arousal and
dominance (pitch level and variability, loudness, tempo, pausing) plus the classic voice-quality
trio (jitter, shimmer, HNR), and together they cost ~15-25 ms for a few seconds of speech on one
core. HNR is derived from the autocorrelation pitch track's strength (the same quantity Praat's
`To Harmonicity (ac)` reports) because the cross-correlation harmonicity object alone costs
3-4x the rest.

Inner keys are stable and documented in docs/analytics.md. Any failure raises
`ProsodyUnavailable`; the runner then leaves `prosody` as `{}` (reference: "Prosody Fallbacks").
"""

from __future__ import annotations

import math
import re
from itertools import pairwise
from typing import Any

import numpy as np

from .types import Utterance, Word, clamp01, r3

PITCH_FLOOR = 75.0
PITCH_CEILING = 500.0
MIN_DURATION_S = 0.25
MIN_PAUSE_S = 0.2
MIN_VOICED_FRAMES = 5


class ProsodyUnavailable(Exception):
    """Audio absent, too short, silent, non-finite or without voiced speech."""


_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def count_syllables(text: str) -> int:
    """Vowel-group syllable estimate: crude per word, but unbiased enough for a rate."""
    total = 0
    for word in re.findall(r"[a-z']+", (text or "").lower()):
        n = len(_VOWEL_GROUPS.findall(word))
        if word.endswith("e") and n > 1 and not word.endswith(("le", "ee")):
            n -= 1
        total += max(1, n)
    return total


def _hz_to_st(hz: np.ndarray | float) -> np.ndarray | float:
    """Semitones re 100 Hz: differences are perceptual and independent of voice register."""
    return 12.0 * np.log2(np.asarray(hz) / 100.0)


def _pauses(intensity_db: np.ndarray, step: float) -> list[float]:
    """Internal silent stretches (≥ MIN_PAUSE_S) from the intensity contour.

    Threshold is 25 dB under the utterance's 95th percentile, Praat's usual silence criterion;
    leading and trailing silence is trimmed so it is not counted as hesitation.
    """
    if intensity_db.size == 0:
        return []
    threshold = float(np.percentile(intensity_db, 95)) - 25.0
    sounding = intensity_db > threshold
    idx = np.flatnonzero(sounding)
    if idx.size == 0:
        return []
    sounding = sounding[idx[0] : idx[-1] + 1]
    pauses: list[float] = []
    run = 0
    for s in sounding:
        if s:
            if run * step >= MIN_PAUSE_S:
                pauses.append(run * step)
            run = 0
        else:
            run += 1
    return pauses


def analyze_prosody(utt: Utterance) -> dict[str, Any]:
    """Measure the utterance's audio. Raises ProsodyUnavailable when there is nothing to measure."""
    audio = utt.audio
    if audio is None:
        raise ProsodyUnavailable("no audio")
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    sr = int(utt.sample_rate or 16_000)
    if x.size < MIN_DURATION_S * sr:
        raise ProsodyUnavailable("audio too short")
    if not np.all(np.isfinite(x)):
        raise ProsodyUnavailable("non-finite samples")
    peak = float(np.max(np.abs(x)))
    if peak < 1e-4:
        raise ProsodyUnavailable("silent audio")
    if peak > 1.0:  # int16-scaled input: bring to [-1, 1] so loudness stays comparable
        x = x / 32768.0 if peak > 2.0 else x / peak

    import parselmouth  # deferred: keeps import of the package cheap when audio is never given
    from parselmouth.praat import call

    snd = parselmouth.Sound(x, sampling_frequency=sr)
    duration = snd.get_total_duration()

    pitch = snd.to_pitch_ac(time_step=0.01, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING)
    arr = pitch.selected_array
    f0_all = arr["frequency"]
    voiced = f0_all > 0
    f0 = f0_all[voiced]
    if f0.size < MIN_VOICED_FRAMES:
        raise ProsodyUnavailable("no voiced speech")
    st = _hz_to_st(f0)
    strength = np.clip(arr["strength"][voiced], 1e-4, 1 - 1e-4)
    hnr_db = float(np.mean(10.0 * np.log10(strength / (1.0 - strength))))

    intensity = snd.to_intensity(minimum_pitch=PITCH_FLOOR, time_step=0.01)
    idb = intensity.values[0]
    idb = idb[np.isfinite(idb)]
    sounding_db = idb[idb > (np.percentile(idb, 95) - 25.0)] if idb.size else idb
    pauses = _pauses(idb, 0.01)
    pause_total = float(sum(pauses))

    rms = float(np.sqrt(np.mean(x**2)))
    jitter = shimmer = float("nan")
    try:
        points = call([snd, pitch], "To PointProcess (cc)")
        jitter = call(points, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
        shimmer = call([snd, points], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6)
    except Exception:  # too few periods: voice-quality stays null, the rest is still valid
        pass
    centroid = float(snd.to_spectrum().get_centre_of_gravity(2.0))

    # Final-contour slope over the last 30 % of voiced frames: a rise marks question intonation.
    times = pitch.xs()[voiced]
    tail = max(3, int(0.3 * f0.size))
    slope = float(np.polyfit(times[-tail:], st[-tail:], 1)[0]) if f0.size >= 6 else 0.0

    n_words = len(utt.words) or len(re.findall(r"[A-Za-z']+", utt.text or ""))
    syllables = count_syllables(" ".join(w.word for w in utt.words) or utt.text)
    speech_time = max(0.1, duration - pause_total)
    # Trim leading/trailing silence from the rate's denominator.
    active = _active_span(idb, 0.01) or duration

    def num(v: float, nd: int = 3) -> float | None:
        return None if v is None or not math.isfinite(v) else round(float(v), nd)

    out: dict[str, Any] = {
        "duration_s": r3(duration),
        "voiced_fraction": r3(float(voiced.mean())),
        "f0_mean_hz": num(float(f0.mean()), 1),
        "f0_median_hz": num(float(np.median(f0)), 1),
        "f0_std_hz": num(float(f0.std()), 1),
        "f0_min_hz": num(float(np.percentile(f0, 5)), 1),
        "f0_max_hz": num(float(np.percentile(f0, 95)), 1),
        "f0_range_st": num(float(np.percentile(st, 95) - np.percentile(st, 5)), 2),
        "f0_std_st": num(float(st.std()), 2),
        "f0_slope_st_per_s": num(slope, 2),
        "intensity_mean_db": num(float(sounding_db.mean()) if sounding_db.size else 0.0, 1),
        "intensity_std_db": num(float(sounding_db.std()) if sounding_db.size else 0.0, 1),
        "intensity_max_db": num(float(idb.max()) if idb.size else 0.0, 1),
        "rms_dbfs": num(20.0 * math.log10(max(rms, 1e-9)), 1),
        "speaking_rate_wps": num(n_words / max(active, 0.1), 2),
        "speaking_rate_sps": num(syllables / max(active, 0.1), 2),
        "articulation_rate_sps": num(syllables / speech_time, 2),
        "pause_count": len(pauses),
        "pause_total_s": r3(pause_total),
        "longest_pause_s": r3(max(pauses, default=0.0)),
        "pause_ratio": r3(pause_total / max(active, 0.1)),
        "jitter_local": num(jitter, 4),
        "shimmer_local": num(shimmer, 4),
        "hnr_db": num(hnr_db, 1),
        "spectral_centroid_hz": num(centroid, 0),
    }
    out["hesitation_flags"] = _hesitation_flags(out)
    return out


def _active_span(idb: np.ndarray, step: float) -> float:
    if idb.size == 0:
        return 0.0
    idx = np.flatnonzero(idb > np.percentile(idb, 95) - 25.0)
    return float((idx[-1] - idx[0] + 1) * step) if idx.size else 0.0


def _hesitation_flags(p: dict[str, Any]) -> list[str]:
    flags = []
    if p["longest_pause_s"] >= 0.7:
        flags.append("long_pause")
    if p["pause_ratio"] >= 0.3:
        flags.append("frequent_pauses")
    if (p["speaking_rate_sps"] or 0) < 2.8:
        flags.append("slow_tempo")
    if (p["f0_std_st"] or 0) < 1.0:
        flags.append("flat_pitch")
    return flags


def word_timing_pauses(words: list[Word], min_gap: float = 0.3) -> list[float]:
    """Gaps between consecutive words: the pause evidence available without audio."""
    gaps = []
    for a, b in pairwise(words):
        g = b.start - a.end
        if g >= min_gap:
            gaps.append(g)
    return gaps


# --- acoustic activation (arousal) and vocal effort (dominance) ------------------------------

# Population anchors (centre, spread) for conversational English; a speaker's own running means
# replace the level anchors once known (see AnalysisContext.speaker_baselines).
_ANCHORS = {
    "speaking_rate_sps": (4.2, 1.2),
    "f0_std_st": (2.5, 1.5),
    "pause_ratio": (0.12, 0.12),
    "rms_dbfs": (-24.0, 6.0),
    "f0_median_st": (_hz_to_st(160.0), 4.0),
    "spectral_centroid_hz": (1100.0, 500.0),
}


def _z(value: float | None, key: str, baseline: dict[str, float] | None) -> float:
    if value is None:
        return 0.0
    centre, spread = _ANCHORS[key]
    if baseline and key in baseline and baseline.get("n", 0) >= 3 and key != "pause_ratio":
        centre = 0.5 * centre + 0.5 * baseline[key]
    return max(-3.0, min(3.0, (float(value) - centre) / spread))


def acoustic_activation(
    p: dict[str, Any], baseline: dict[str, float] | None = None
) -> tuple[float, float, list[str]]:
    """(arousal, dominance, cues) in [0, 1] from prosody alone.

    Arousal rises with tempo, pitch variability and level, loudness and spectral tilt toward
    high frequencies (vocal effort) and falls with pausing. Dominance rises with loudness and
    steady tempo and falls with pausing and high pitch. Weights are hand-set from the direction
    of effects in the literature, not fitted; see docs/analytics.md.
    """
    f0_st = _hz_to_st(p["f0_median_hz"]) if p.get("f0_median_hz") else None
    # Absolute pitch level says more about the voice (sex, age) than about arousal: trust it
    # only against the speaker's own baseline.
    known_voice = bool(baseline) and baseline.get("n", 0) >= 3
    z = {
        "rate": _z(p.get("speaking_rate_sps"), "speaking_rate_sps", baseline),
        "pitch_var": _z(p.get("f0_std_st"), "f0_std_st", baseline),
        "pauses": _z(p.get("pause_ratio"), "pause_ratio", baseline),
        "loudness": _z(p.get("rms_dbfs"), "rms_dbfs", baseline),
        "pitch_level": _z(f0_st, "f0_median_st", baseline) * (1.0 if known_voice else 0.4),
        "brightness": _z(p.get("spectral_centroid_hz"), "spectral_centroid_hz", baseline),
    }
    a = (
        0.9 * z["rate"]
        + 0.5 * z["pitch_var"]
        - 0.6 * z["pauses"]
        + 0.5 * z["loudness"]
        + 0.4 * z["pitch_level"]
        + 0.3 * z["brightness"]
    )
    d = 0.6 * z["loudness"] + 0.3 * z["rate"] - 0.5 * z["pauses"] - 0.2 * z["pitch_level"]
    cues = []
    for key, label_hi, label_lo in (
        ("rate", "fast tempo", "slow tempo"),
        ("pitch_var", "lively pitch", "flat pitch"),
        ("loudness", "loud", "quiet"),
        ("pitch_level", "raised pitch", "low pitch"),
        ("pauses", "many pauses", "fluent, few pauses"),
    ):
        if key == "pitch_level" and not known_voice:
            continue
        if z[key] >= 0.8:
            cues.append(label_hi)
        elif z[key] <= -0.8:
            cues.append(label_lo)
    return clamp01(_sigmoid(a * 0.8)), clamp01(_sigmoid(d * 0.8)), cues


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def baseline_update(baseline: dict[str, float], p: dict[str, Any]) -> None:
    """Fold one utterance's levels into the speaker's running means (in place)."""
    n = baseline.get("n", 0.0)
    vals = {
        "speaking_rate_sps": p.get("speaking_rate_sps"),
        "f0_std_st": p.get("f0_std_st"),
        "rms_dbfs": p.get("rms_dbfs"),
        "f0_median_st": _hz_to_st(p["f0_median_hz"]) if p.get("f0_median_hz") else None,
        "spectral_centroid_hz": p.get("spectral_centroid_hz"),
    }
    for k, v in vals.items():
        if v is None:
            continue
        baseline[k] = (baseline.get(k, float(v)) * n + float(v)) / (n + 1)
    baseline["n"] = n + 1
