"""POST /analyze overhead: total request time / raw engine transcription time.

One command: `.venv/bin/python bench/analyze_overhead.py [--rounds 3]`

Files: tests/fixtures/audio/jfk.ogg (11 s), a ~40 s WAV of the WER sentences joined by
silence (written to a scratch dir), and /work/shared/audio/stereo_diarization.wav (two
speakers, one per channel) when present. In the same run, alternating the order each
round: sessions_app.engine.transcribe(path) in this process (same model and language as
the server's default config, tiny.en / en) and POST /analyze of the same file to daphne on
a scratch DATA_DIR (upload, decode, ASR, all agents, events, artifacts, JSON back).
Prints median times per file, ratio HTTP / engine per file and overall (sum of medians).
Target: ratio <= 1.25 with all agents on (the default config enables every agent).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import _engine_common as common
import _report
import _server as srv
import _streams


def files(scratch: Path, concat_seconds: float) -> list[Path]:
    out = [common.FIXTURES / "jfk.ogg"]
    concat = scratch / "conversation.wav"
    concat.write_bytes(_streams.wav_bytes(_streams.build_stream(concat_seconds).audio))
    out.append(concat)
    stereo = common.SHARED / "stereo_diarization.wav"
    if stereo.exists():
        out.append(stereo)
    return out


def engine_time(path: Path, options) -> tuple[float, int]:
    from sessions_app.engine import transcribe

    start = time.perf_counter()
    utterances = transcribe(path, options)
    return time.perf_counter() - start, len(utterances)


def http_time(client, path: Path) -> tuple[float, dict]:
    data = path.read_bytes()
    start = time.perf_counter()
    r = client.post("/analyze", files={"file": (path.name, data, "application/octet-stream")})
    elapsed = time.perf_counter() - start
    if r.status_code != 200:
        raise RuntimeError(f"/analyze {path.name}: {r.status_code} {r.text[:300]}")
    return elapsed, r.json()


def agent_ms(body: dict) -> float | None:
    """Sum of the agents' own latency_ms in the response, when it reports them."""
    total, seen = 0.0, False

    def walk(node) -> None:
        nonlocal total, seen
        if isinstance(node, dict):
            if isinstance(node.get("latency_ms"), int | float):
                total += float(node["latency_ms"])
                seen = True
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body.get("agent_outputs") or body.get("agent_results") or {})
    return total if seen else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per file and path")
    parser.add_argument(
        "--concat-seconds", type=float, default=40.0, help="length of the joined file"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch DATA_DIR")
    args = parser.parse_args()

    from sessions_app.engine import TranscribeOptions, decode_file

    options = TranscribeOptions(model="tiny.en", language="en")
    scratch = Path(tempfile.mkdtemp(prefix="parlance-bench-files-"))
    paths = files(scratch, args.concat_seconds)
    durations = {p: decode_file(p).duration for p in paths}
    print(f"{len(paths)} files, {args.rounds} rounds each path; {_report.load_average()} at start")
    engine_t = {p: [] for p in paths}
    http_t = {p: [] for p in paths}
    agents = {p: [] for p in paths}
    utt = {}
    server = srv.start_server(keep=args.keep)
    try:
        with server.client(timeout=300) as client:
            engine_time(paths[0], options)  # warm the in-process engine (the server is warm)
            http_time(client, paths[0])
            for r in range(args.rounds):
                for p in paths:
                    order = ("engine", "http") if (r % 2 == 0) else ("http", "engine")
                    for which in order:
                        if which == "engine":
                            t, utt[p] = engine_time(p, options)
                            engine_t[p].append(t)
                        else:
                            t, body = http_time(client, p)
                            http_t[p].append(t)
                            if (a := agent_ms(body)) is not None:
                                agents[p].append(a / 1000)
        load = _report.load_average()
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(
        f"{'file':28s} {'audio':>7s} {'utts':>5s} {'engine':>9s} {'POST /analyze':>14s} {'ratio':>7s} {'added':>9s}"
    )
    sum_e = sum_h = 0.0
    for p in paths:
        e, h = statistics.median(engine_t[p]), statistics.median(http_t[p])
        sum_e, sum_h = sum_e + e, sum_h + h
        print(
            f"{p.name:28s} {durations[p]:6.1f}s {utt[p]:5d} {e:8.3f}s {h:13.3f}s "
            f"{_report.ratio(h, e):>7s} {(h - e) * 1000:+8.0f}ms"
        )
        if agents[p]:
            print(
                f"{'':28s} agents' own latency_ms in the response: {statistics.median(agents[p]) * 1000:.0f} ms"
            )
    print(
        f"{'overall (sum of medians)':28s} {'':7s} {'':5s} {sum_e:8.3f}s {sum_h:13.3f}s {_report.ratio(sum_h, sum_e):>7s}"
    )
    overall = sum_h / sum_e
    print(f"{load} at the end (machine shared: figures are noisy)")
    print(
        "verdict:",
        "OK" if overall <= 1.25 else "OVER TARGET",
        f"(target overall ratio <= 1.25: {overall:.2f})",
    )
    server.report_problems()


if __name__ == "__main__":
    main()
