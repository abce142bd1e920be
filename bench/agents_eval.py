"""Evaluate the analytics agents on the labelled set in tests/fixtures/analytics/.

    .venv/bin/python bench/agents_eval.py            # evaluate (prints a report)
    .venv/bin/python bench/agents_eval.py --json     # same, machine-readable
    .venv/bin/python bench/agents_eval.py --synth    # regenerate the audio with espeak-ng + sox

Prints dominant-emotion agreement, valence ordering (anger < neutral < joy), the fast/slow
arousal pair, moment precision/recall, phase-boundary error and per-utterance agent latency
(p95, with ratios against the audio duration and against a raw Praat pitch track measured in
the same run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sessions_app.agents import (  # noqa: E402
    ConversationTracker,
    LatencyStats,
    Utterance,
    UtteranceAnalyzer,
    warm_up,
)
from sessions_app.agents.lexical import estimate_word_timings  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "analytics"
LABELS = FIXTURES / "labelled_set.json"
AUDIO = FIXTURES / "audio"
GAP_S = 0.4  # silence inserted between scripted turns on the conversation clock


def audio_path(dialogue_id: str, index: int) -> Path:
    return AUDIO / f"{dialogue_id}_{index:02d}.flac"


def synthesise(labels: dict[str, Any]) -> None:
    """Render every utterance with espeak-ng in its style, resample to 16 kHz mono FLAC.

    A uniform 0.8 gain keeps the loudest style from clipping while preserving the loudness
    differences between styles (no per-file normalisation, on purpose)."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        raise SystemExit("espeak-ng and sox are needed to synthesise")
    AUDIO.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for d in labels["dialogues"]:
            for i, u in enumerate(d["utterances"]):
                st = labels["styles"][u["style"]]
                wav = Path(tmp) / "u.wav"
                subprocess.run(
                    ["espeak-ng", "-v", st["voice"], "-s", str(st["speed"]), "-p", str(st["pitch"]),
                     "-a", str(st["amplitude"]), "-g", str(st["word_gap"]), "-w", str(wav), u["text"]],
                    check=True,
                )  # fmt: skip
                out = audio_path(d["id"], i)
                subprocess.run(
                    ["sox", "-q", "-D", str(wav), "-r", "16000", "-c", "1", "-b", "8", str(out),
                     "vol", "0.8", "silence", "1", "0.02", "0.5%", "reverse", "silence", "1",
                     "0.02", "0.5%", "reverse"],
                    check=True,
                )  # fmt: skip
    total = sum(p.stat().st_size for p in AUDIO.glob("*.flac"))
    print(f"synthesised {len(list(AUDIO.glob('*.flac')))} files, {total / 1024:.0f} KiB")


def load_audio(path: Path) -> Any:
    import numpy as np
    import parselmouth

    snd = parselmouth.Sound(str(path))
    if snd.sampling_frequency != 16000:
        snd = snd.resample(16000)
    return snd.values[0].astype(np.float32)


def load_labelled_set(with_audio: bool = True) -> list[dict[str, Any]]:
    """Dialogues with `Utterance` objects (conversation clock, estimated word timings) attached
    to each labelled utterance under the key `utt`."""
    labels = json.loads(LABELS.read_text())
    dialogues = []
    for d in labels["dialogues"]:
        t = 0.0
        items = []
        for i, u in enumerate(d["utterances"]):
            audio = load_audio(audio_path(d["id"], i)) if with_audio else None
            dur = len(audio) / 16000 if audio is not None else 0.3 * len(u["text"].split())
            utt = Utterance(
                utterance_id=f"{d['id']}_utt_{i:04d}",
                speaker=u["speaker"],
                t_start=round(t, 3),
                t_end=round(t + dur, 3),
                text=u["text"],
                words=estimate_word_timings(u["text"], t, t + dur),
                asr_confidence=1.0,
                audio=audio,
            )
            items.append({**u, "index": i, "utt": utt})
            t += dur + GAP_S
        dialogues.append({**d, "utterances": items})
    return dialogues


def _p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.95 * len(s)))] if s else 0.0


def evaluate(passes: int = 5) -> dict[str, Any]:
    warm_up()
    dialogues = load_labelled_set()
    rows: list[dict[str, Any]] = []
    bounds: list[dict[str, Any]] = []
    for d in dialogues:
        split = "holdout" if d.get("holdout") else "dev"
        tracker = ConversationTracker(d["id"], d.get("context", ""), stats=LatencyStats())
        for u in d["utterances"]:
            upd = tracker.add_utterance(u["utt"])
            a = upd.analysis
            rows.append({
                "id": u["utt"].utterance_id, "split": split, "label": u["emotion"],
                "accept": u["accept"], "pred": a.dominant_emotion, "valence": a.valence,
                "arousal": a.arousal,
                "acoustic_arousal": a.emotion.get("sources", {}).get("acoustic_arousal"),
                "arousal_label": u.get("arousal"),
                "moments_pred": sorted({m.category for m in upd.moments}),
                "moments_gold": sorted(set(u["moments"])),
            })  # fmt: skip
        result = tracker.finalize()
        starts = {p["start_utterance_id"] for p in result.segmentation["phases"]}
        ids = [u["utt"].utterance_id for u in d["utterances"]]
        bounds.append({
            "split": split, "ids": ids,
            "pred": sorted(ids.index(s) for s in starts if ids.index(s) > 0),
            "gold": [p["start"] for p in d["phases"] if p["start"] > 0],
            "counts": (len(d["phases"]), result.segmentation["total_phases"]),
        })  # fmt: skip
    out: dict[str, Any] = {"utterances": len(rows)}
    for split in ("dev", "holdout", "all"):
        r = [x for x in rows if split in ("all", x["split"])]
        b = [x for x in bounds if split in ("all", x["split"])]
        if r:
            out[split] = _metrics(r, b)
    fast = next(r for r in rows if r["arousal_label"] == "high")
    slow = next(r for r in rows if r["arousal_label"] == "low")
    out["arousal_pair"] = {
        "fast": {"arousal": fast["arousal"], "acoustic": fast["acoustic_arousal"]},
        "slow": {"arousal": slow["arousal"], "acoustic": slow["acoustic_arousal"]},
    }
    out["latency"] = latency([u["utt"] for d in dialogues for u in d["utterances"]], passes)
    out["rows"] = rows
    return out


def _metrics(rows: list[dict[str, Any]], bounds: list[dict[str, Any]]) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for r in rows:
        pred, gold = set(r["moments_pred"]), set(r["moments_gold"])
        tp.update(pred & gold)
        fp.update(pred - gold)
        fn.update(gold - pred)
    errors: list[int] = []
    for b in bounds:
        for g in b["gold"]:
            errors.append(min((abs(g - p) for p in b["pred"]), default=len(b["ids"])))
    by_label: dict[str, list[float]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r["valence"])
    means = {k: round(sum(v) / len(v), 3) for k, v in by_label.items()}

    def frac_below(lo: str, hi: str) -> float | None:
        pairs = [(a, b) for a in by_label.get(lo, []) for b in by_label.get(hi, [])]
        return round(sum(a < b for a, b in pairs) / len(pairs), 3) if pairs else None

    t, p_, n_ = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "utterances": len(rows),
        "emotion_agreement_strict": round(
            sum(r["pred"] == r["label"] for r in rows) / len(rows), 3
        ),
        "emotion_agreement_lenient": round(
            sum(r["pred"] in r["accept"] for r in rows) / len(rows), 3
        ),
        "valence_means": means,
        "valence_order_ok": means.get("anger", 1) < means.get("neutral", 0.5) < means.get("joy", 0),
        "pairwise_anger_below_neutral": frac_below("anger", "neutral"),
        "pairwise_neutral_below_joy": frac_below("neutral", "joy"),
        "moment_precision": round(t / (t + p_), 3) if t + p_ else 0.0,
        "moment_recall": round(t / (t + n_), 3) if t + n_ else 0.0,
        "moments_per_category": {
            c: {"tp": tp[c], "fp": fp[c], "fn": fn[c]} for c in sorted(set(tp) | set(fp) | set(fn))
        },
        "phase_boundary_mae_utts": round(sum(errors) / len(errors), 3) if errors else 0.0,
        "phase_boundary_exact": f"{sum(e == 0 for e in errors)}/{len(errors)}",
        "phase_counts_gold_vs_pred": [b["counts"] for b in bounds],
    }


def latency(utts: list[Utterance], passes: int) -> dict[str, Any]:
    """Per-utterance agent cost, measured on the labelled audio, with two same-run ratios."""
    import parselmouth

    stats = LatencyStats()
    analyzer = UtteranceAnalyzer(stats=stats)
    baseline_ms: list[float] = []
    for _ in range(passes):
        for u in utts:
            analyzer.analyze(u)
            t0 = time.perf_counter()  # raw baseline: one Praat pitch track of the same audio
            parselmouth.Sound(u.audio.astype("float64"), 16000).to_pitch_ac(0.01, 75, 500)
            baseline_ms.append((time.perf_counter() - t0) * 1000)
    p95 = stats.p95_ms()
    mean = stats.mean_ms()
    audio_s = sum(u.duration for u in utts) / len(utts)
    return {
        "passes": passes,
        "p95_ms": p95,
        "mean_ms": mean,
        "mean_audio_s": round(audio_s, 2),
        "p95_utterance_over_audio": round(p95["utterance"] / (audio_s * 1000), 4),
        "p95_utterance_over_raw_pitch_p95": round(p95["utterance"] / _p95(baseline_ms), 2),
        "raw_pitch_p95_ms": round(_p95(baseline_ms), 2),
    }


def report(r: dict[str, Any]) -> None:
    print(f"utterances: {r['utterances']} (dev = tuned on; holdout = never tuned on)")
    for split in ("dev", "holdout", "all"):
        if split not in r:
            continue
        m = r[split]
        v = m["valence_means"]
        print(f"== {split} ({m['utterances']} utterances)")
        print(
            f"dominant-emotion agreement: strict {m['emotion_agreement_strict']:.0%}, "
            f"lenient (accepted labels) {m['emotion_agreement_lenient']:.0%}"
        )
        print(
            f"valence means: anger {v.get('anger')} < neutral {v.get('neutral')} < joy "
            f"{v.get('joy')} → ordering {'OK' if m['valence_order_ok'] else 'VIOLATED'}; "
            f"pairwise anger<neutral {m['pairwise_anger_below_neutral']}, neutral<joy "
            f"{m['pairwise_neutral_below_joy']}"
        )
        print(f"moments: precision {m['moment_precision']:.0%}, recall {m['moment_recall']:.0%}")
        for c, x in m["moments_per_category"].items():
            print(f"  {c:12s} tp {x['tp']} fp {x['fp']} fn {x['fn']}")
        print(
            f"phase boundaries: mean abs error {m['phase_boundary_mae_utts']} utterances, exact "
            f"{m['phase_boundary_exact']}, phases gold/pred {m['phase_counts_gold_vs_pred']}"
        )
    ap = r["arousal_pair"]
    print(
        f"arousal pair (same text): fast {ap['fast']['arousal']} (voice {ap['fast']['acoustic']})"
        f" vs slow {ap['slow']['arousal']} (voice {ap['slow']['acoustic']})"
    )
    lat = r["latency"]
    print(
        f"per-utterance latency over {lat['passes']} passes (mean audio {lat['mean_audio_s']} s):"
    )
    for k in sorted(lat["p95_ms"], key=lambda k: (k != "utterance", k)):
        print(f"  {k:10s} p95 {lat['p95_ms'][k]:7.2f} ms   mean {lat['mean_ms'][k]:7.2f} ms")
    print(
        f"  ratio p95(all agents)/audio duration = {lat['p95_utterance_over_audio']}; "
        f"p95(all agents)/p95(raw Praat pitch track) = {lat['p95_utterance_over_raw_pitch_p95']}"
        f" (raw pitch p95 {lat['raw_pitch_p95_ms']} ms)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--synth", action="store_true", help="regenerate the audio fixtures")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a report")
    ap.add_argument("--passes", type=int, default=5, help="latency passes over the set")
    ap.add_argument("--rows", action="store_true", help="also print per-utterance rows")
    args = ap.parse_args()
    if args.synth:
        synthesise(json.loads(LABELS.read_text()))
        return
    r = evaluate(args.passes)
    if args.json:
        print(json.dumps(r, indent=1))
        return
    report(r)
    if args.rows:
        for row in r["rows"]:
            print(
                f"  {row['id']:24s} {row['split']:7s} {row['label']:8s}→{row['pred']:8s} v {row['valence']:.2f} "
                f"a {row['arousal']:.2f} moments {row['moments_gold']}→{row['moments_pred']}"
            )


if __name__ == "__main__":
    main()
