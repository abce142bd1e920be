"""Voice interface (NextEVI-compatible): end of speech -> first tts_chunk, and barge-in.

One command: `.venv/bin/python bench/voice_latency.py [--turns 8] [--calls 4] [--llm-delay 0.3]`

Clients framed as the React SDK frames things: session_settings at once, then 4096-byte
binary PCM16 frames at 24 kHz at real-time pace, continuously, silence included. The
person's speech is questions synthesised with piper (the product's own Synthesizer), each
followed by silence until the spoken reply has played out, so the next question is a new
turn and not a barge-in. Where speech starts and ends is known from the synthesised audio
(first and last 10 ms above -40 dB of its loudest), and mapped to the client's clock as
the send time of the frame that holds that sample.

Figures, for the offline responder (the targets' setting) and then for the
OpenAI-compatible responder against a local stand-in (a chat-completions streaming server
on 127.0.0.1 that waits `--llm-delay` before its first token, then streams the offline
responder's words for the same question, so only the wait and the HTTP hop differ):
  * end of the user's speech -> first tts_chunk of the reply, 1 call (p50, p95) and
    `--calls` calls at once (p50); with its parts, -> final transcription and final ->
    first tts_chunk;
  * start of the user's interrupting speech (sent 1 s into the reply) -> tts_interruption
    (p50; the guard's 0.5 s included), and any tts_chunk of the interrupted reply that
    still came after it.
Baseline in the same run: the engine alone (StreamingTranscriber in process, the same
questions in the same frames at real-time pace, the voice surface's options), end of
speech -> final; the ratios show what the voice path adds (responder, synthesis, pacing).
The two responders take turns (1 call offline, 1 call stand-in, then N calls each), so
load drifting over the run weighs on both alike; final -> first tts_chunk is the
responder's and synthesis's share without recognition's noise.
Verdicts: 1 call p50 <= 1.0 s, p95 <= 1.6 s; N calls p50 <= 1.5 s; interruption p50 <=
0.8 s. Everything talks only to 127.0.0.1 and every wait has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import time
from dataclasses import dataclass, field

import _cpu
import _latency
import _report
import _server as srv
import _streams
import numpy as np
from websockets.asyncio.client import connect

from sessions_app.dialogue.responders import UserTurn, offline_reply
from sessions_app.surfaces.voice.protocol import DEFAULT_SILENCE
from tests.support.voice import FRAME_BYTES, RATE, Call, _reader, voice_url

FRAME_SAMPLES = FRAME_BYTES // 2
FRAME_SECONDS = FRAME_SAMPLES / RATE
QUESTIONS = [
    "What time does the store open tomorrow morning?",
    "Can you help me change the address on my account?",
    "How long does shipping usually take to Canada?",
    "Is there a way to get a refund for a late order?",
    "Which plan would you recommend for a small team?",
    "Why was I charged twice for the same subscription?",
]
INTERRUPTIONS = [
    "Hold on, actually, cancel that please.",
    "Sorry, let me ask something different.",
    "Stop for a second, I have another question.",
    "Never mind, forget about that one.",
]
LEAD_IN = 0.5  # silence before the first question (s)
BARGE_AFTER = 1.0  # the interrupting speech starts this long after the reply's first chunk
GAP = 1.0  # silence after a reply has played before the next question
REPLY_TIMEOUT = 20.0  # end of speech -> first tts_chunk, at most
PLAYED_TIMEOUT = 90.0  # first tts_chunk -> the reply's last chunk, at most
INTERRUPT_TIMEOUT = 10.0  # interrupting speech -> tts_interruption, at most
TARGETS = {"one_p50": 1.0, "one_p95": 1.6, "many_p50": 1.5, "interrupt_p50": 0.8}


@dataclass(frozen=True)
class Utterance:
    text: str
    pcm: bytes  # 24 kHz PCM16, as synthesised
    start: int  # samples into `pcm` where speech starts / ends
    end: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / RATE


def speech_edges(pcm: bytes) -> tuple[int, int]:
    """First and last sample of speech: 10 ms windows above -40 dB of the loudest one
    (piper's pauses around a sentence are near digital silence)."""
    samples = np.frombuffer(pcm, "<i2").astype(np.float32)
    hop = RATE // 100
    n = len(samples) // hop
    rms = np.sqrt((samples[: n * hop].reshape(n, hop) ** 2).mean(axis=1))
    active = np.flatnonzero(rms > rms.max() * 0.01)
    return int(active[0]) * hop, int(active[-1] + 1) * hop


def synthesise(texts: list[str]) -> list[Utterance]:
    from sessions_app.dialogue.speech import Synthesizer

    synth = Synthesizer()
    out = []
    for text in texts:
        pcm = b"".join(synth.synthesize(text))
        out.append(Utterance(text, pcm, *speech_edges(pcm)))
    return out


def baseline_stream(questions: list[Utterance], repeat: int = 2) -> _streams.TestStream:
    """The questions back to back, 2 s of silence after each (float, 24 kHz)."""
    parts = [np.zeros(int(LEAD_IN * RATE), np.float32)]
    truth, pos = [], len(parts[0])
    for q in questions * repeat:
        parts.append(np.frombuffer(q.pcm, "<i2").astype(np.float32) / 32768)
        truth.append(((pos + q.start) / RATE, (pos + q.end) / RATE))
        pos += len(q.pcm) // 2
        parts.append(np.zeros(2 * RATE, np.float32))
        pos += 2 * RATE
    return _streams.TestStream(np.concatenate(parts), truth)


def baseline_options():
    """What the voice consumer builds for the default config and settings."""
    from sessions_app.engine import StreamingOptions, TranscribeOptions

    return StreamingOptions(
        sample_rate=RATE,
        trailing_silence=DEFAULT_SILENCE,
        transcribe=TranscribeOptions(model="tiny.en", language="en"),
    )


# -- the client -------------------------------------------------------------------------------


class Microphone:
    """What the SDK streams: silence, unless speech was queued; one 4096-byte frame per
    frame period on an absolute schedule; remembers when each frame went out."""

    def __init__(self) -> None:
        self.audio = bytearray()
        self.sent: list[float] = []
        self.behind = 0.0

    def say(self, pcm: bytes) -> int:
        """Queue speech at the first frame not yet sent (or after queued speech); returns
        the sample offset where it starts."""
        at = max(len(self.audio) // 2, len(self.sent) * FRAME_SAMPLES)
        self.audio.extend(b"\x00\x00" * (at - len(self.audio) // 2))
        self.audio.extend(pcm)
        return at

    async def sent_at(self, sample: int) -> float:
        """When the frame holding `sample` went out (waits for it)."""
        while len(self.sent) <= sample // FRAME_SAMPLES:
            await asyncio.sleep(FRAME_SECONDS / 4)
        return self.sent[sample // FRAME_SAMPLES]

    async def stream(self, ws) -> None:
        t0 = time.monotonic()
        k = 0
        while True:
            delay = t0 + k * FRAME_SECONDS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.behind = max(self.behind, -delay)
            frame = bytes(self.audio[k * FRAME_BYTES : (k + 1) * FRAME_BYTES])
            self.sent.append(time.monotonic())
            await ws.send(frame + b"\x00" * (FRAME_BYTES - len(frame)))
            k += 1


@dataclass(frozen=True)
class Turn:
    question: Utterance
    interruption: Utterance | None = None  # spoken over the reply, BARGE_AFTER into it
    record: bool = True


@dataclass
class Results:
    reply: list[float] = field(default_factory=list)  # end of speech -> first tts_chunk
    final: list[float] = field(default_factory=list)  # end of speech -> final transcription
    final_to_tts: list[float] = field(default_factory=list)
    interrupt: list[float] = field(default_factory=list)  # speech start -> tts_interruption
    late_chunks: int = 0  # tts_chunks of an interrupted reply after its tts_interruption
    missed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    behind: float = 0.0
    usage: dict = field(default_factory=dict)


def generation(message: dict) -> str:
    return message["chunk_id"].rsplit("-", 1)[0]


async def next_message(call: Call, start: int, accept, timeout: float) -> int | None:
    """Index of the first message from `start` on that `accept`s, or None on timeout or
    close (the receive time is in call.received_at, so polling costs no accuracy)."""
    deadline = time.monotonic() + timeout
    i = start
    while time.monotonic() < deadline:
        while i < len(call.messages):
            if accept(call.messages[i]):
                return i
            i += 1
        if call.close_code is not None:
            return None
        await asyncio.sleep(0.01)
    return None


def new_reply(call: Call):
    """Accepts a tts_chunk of a generation not seen so far: the next reply's first chunk."""
    known = {generation(m) for m in call.of("tts_chunk")}
    return lambda m: m["type"] == "tts_chunk" and generation(m) not in known


async def played_out(call: Call, first: int) -> None:
    """Wait until the reply whose first chunk is message `first` has played, then GAP."""
    g = generation(call.messages[first])
    last = await next_message(
        call,
        first,
        lambda m: m["type"] == "tts_chunk" and generation(m) == g and m["is_last"],
        PLAYED_TIMEOUT,
    )
    if last is None:
        return
    audio = sum(
        len(base64.b64decode(m["content"])) for m in call.of("tts_chunk") if generation(m) == g
    )
    ends = call.received_at[first] + audio / 2 / RATE + GAP
    await asyncio.sleep(max(0.0, ends - time.monotonic()))


async def take_turn(call: Call, mic: Microphone, turn: Turn, out: Results, who: str) -> None:
    q = turn.question
    seen = len(call.messages)
    end = mic.say(q.pcm) + q.end
    first = await next_message(call, seen, new_reply(call), q.seconds + REPLY_TIMEOUT)
    if first is None:
        out.missed.append(f"{who}: no reply to {q.text!r}")
        return
    end_sent = await mic.sent_at(end)
    tts_at = call.received_at[first]
    final = next(
        (
            i
            for i in range(seen, first)
            if call.messages[i]["type"] == "transcription" and call.messages[i]["is_final"]
        ),
        None,
    )
    if turn.record:
        out.reply.append(tts_at - end_sent)
        if final is not None:
            out.final.append(call.received_at[final] - end_sent)
            out.final_to_tts.append(tts_at - call.received_at[final])
    if turn.interruption is None:
        await played_out(call, first)
        return
    await asyncio.sleep(max(0.0, tts_at + BARGE_AFTER - time.monotonic()))
    barge = turn.interruption
    seen = len(call.messages)
    start = mic.say(barge.pcm) + barge.start
    stopped = await next_message(
        call, seen, lambda m: m["type"] == "tts_interruption", barge.seconds + INTERRUPT_TIMEOUT
    )
    if stopped is None:
        out.missed.append(f"{who}: {barge.text!r} did not interrupt")
        await played_out(call, first)
        return
    out.interrupt.append(call.received_at[stopped] - await mic.sent_at(start))
    # The interrupting speech is a turn of its own: let its reply play out too.
    answer = await next_message(call, stopped, new_reply(call), barge.seconds + REPLY_TIMEOUT)
    interrupted = generation(call.messages[first])
    out.late_chunks += sum(
        1
        for m in call.messages[stopped:]
        if m["type"] == "tts_chunk" and generation(m) == interrupted
    )
    if answer is not None:
        await played_out(call, answer)


async def converse(url: str, turns: list[Turn], lead: float, out: Results, who: str) -> None:
    call = Call()
    try:
        async with connect(
            url, max_size=None, open_timeout=30, close_timeout=5, ping_interval=None, proxy=None
        ) as ws:
            reader = asyncio.create_task(_reader(ws, call))
            settings = {"sample_rate": RATE, "channels": 1, "encoding": "linear16"}
            await ws.send(json.dumps({"type": "session_settings", **settings}))  # at once
            mic = Microphone()
            sender = asyncio.create_task(mic.stream(ws))
            try:
                await asyncio.sleep(lead)
                for turn in turns:
                    if call.close_code is not None or sender.done():
                        break
                    await take_turn(call, mic, turn, out, who)
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
                out.behind = max(out.behind, mic.behind)
                await ws.close()
                await asyncio.wait_for(reader, 10)
    except Exception as exc:  # a refused or dropped call is a result, not a crash
        out.errors.append(f"{who}: {type(exc).__name__}: {exc}")
    out.errors += [f"{who}: {m.get('error_code')}: {m.get('message')}" for m in call.of("error")]
    if call.close_code not in (None, 1000):
        out.errors.append(f"{who}: closed {call.close_code} {call.close_reason}")


async def run_calls(
    server: srv.Server, config_id: str, scripts: list[list[Turn]], bound: float, run: str
) -> Results:
    """The calls at once, each with its script and its own connection id; all of them
    stopped after `bound` seconds."""
    out = Results()
    with _cpu.cpu_usage(server, out.usage):
        calls = [
            converse(
                voice_url(server, f"bench-{run}-{i}", api_key=server.api_key, config_id=config_id),
                turns,
                LEAD_IN + 0.8 * i,  # callers do not start in step
                out,
                f"call {i}",
            )
            for i, turns in enumerate(scripts)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*calls), bound)
        except TimeoutError:
            out.errors.append(f"the run did not end within {bound:.0f} s (stopped)")
    return out


# -- the LLM stand-in ----------------------------------------------------------------------------

_NOTE = re.compile(r"^\[[^\]]*\]\s*")  # the emotion note the responder puts before the words


class StandInLLM:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 (the one test double: the
    LLM is a third-party service). Each request: headers at once, `delay` seconds to the
    first token, then the offline responder's reply to the last user message, word by
    word, then [DONE]."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        """Stop listening and end the open keep-alive connections, so that their handlers
        finish here rather than being cancelled when the event loop shuts down."""
        if self._server is not None:
            self._server.close()
        for writer in self._connections.values():
            writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections[asyncio.current_task()] = writer
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):  # one connection, many turns
                lines = head.decode().split("\r\n")[1:]
                headers = {
                    k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines if x)
                }
                body = json.loads(await reader.readexactly(int(headers["content-length"])))
                self.requests += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    b"transfer-encoding: chunked\r\n\r\n"
                )
                await writer.drain()
                await asyncio.sleep(self.delay)
                for word in re.findall(r"\S+\s*", self._reply(body)):
                    delta = {"choices": [{"index": 0, "delta": {"content": word}}]}
                    await self._send(writer, f"data: {json.dumps(delta)}\n\n")
                await self._send(writer, "data: [DONE]\n\n")
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the responder left (a barge-in closes its stream) or the call ended
        finally:
            self._connections.pop(asyncio.current_task(), None)
            writer.close()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, text: str) -> None:
        data = text.encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()

    @staticmethod
    def _reply(body: dict) -> str:
        said = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        return offline_reply([], UserTurn(_NOTE.sub("", said)))


def stand_in_config(server: srv.Server, llm: StandInLLM) -> str:
    """A config of the bench customer's project whose responder is the stand-in."""
    voice = {
        "responder": "openai_compatible",
        "llm": {"base_url": llm.base_url, "model": "stand-in"},
    }
    code = (
        "from accounts.models import Config\n"
        f"base = Config.objects.get(public_id={server.config_id!r})\n"
        "made = Config.objects.create(project=base.project, name='bench-llm-stand-in', "
        f"voice={voice!r})\n"
        "print(made.public_id)\n"
    )
    return server.manage("shell", "-c", code).split()[-1]


# -- the runs and the report -------------------------------------------------------------------


def scripts(questions, interruptions, args) -> tuple[list[Turn], list[list[Turn]]]:
    """One call: `turns` questions, every other one talked over while its reply plays
    (`interruptions` of them); N calls: `concurrent_turns` questions each, rotated."""
    one = []
    for k in range(args.turns):
        barge = k % 2 == 1 and k // 2 < args.interruptions
        one.append(
            Turn(
                questions[k % len(questions)],
                interruptions[(k // 2) % len(interruptions)] if barge else None,
            )
        )
    many = [
        [Turn(questions[(2 * c + k) % len(questions)]) for k in range(args.concurrent_turns)]
        for c in range(args.calls)
    ]
    return one, many


async def measure(server: srv.Server, questions, interruptions, args) -> dict[str, dict]:
    one, many = scripts(questions, interruptions, args)
    warm = [Turn(questions[-1], record=False)]  # the voice loaded, the path warm: off the clock
    llm = StandInLLM(args.llm_delay)
    await llm.start()
    try:
        stand_in = await asyncio.to_thread(stand_in_config, server, llm)
        configs = {
            "offline": server.config_id,
            f"LLM stand-in (+{args.llm_delay * 1000:.0f} ms to first token)": stand_in,
        }
        results: dict[str, dict] = {name: {} for name in configs}
        for k, config_id in enumerate(configs.values()):
            await run_calls(server, config_id, [warm], args.bound, f"r{k}-warm")
        # The two responders take turns at each shape (1 call, then N), so that the
        # machine's load drifting over the run weighs on both alike.
        for shape, script in (("one", [one]), ("many", many)):
            for k, (name, config_id) in enumerate(configs.items()):
                run = f"r{k}-{shape}"  # in the connection id: who is who in the server log
                results[name][shape] = await run_calls(server, config_id, script, args.bound, run)
        results["_llm_requests"] = {"n": llm.requests}
        return results
    finally:
        await llm.aclose()


def verdict(values: list[float], q: float, target: float) -> str:
    if not values:
        return "n/a"
    return "OK" if _report.pct(values, q) <= target else "OVER TARGET"


def report_run(label: str, r: Results, base: _latency.BaselineResult, targets: str) -> None:
    b50, b95 = _report.pct(base.latencies, 50), _report.pct(base.latencies, 95)
    p50, p95 = _report.pct(r.reply, 50), _report.pct(r.reply, 95)
    print(
        f"  {label:9s} end of speech -> first tts_chunk  {_report.fmt_s(r.reply)}  "
        f"ratio to engine p50 {_report.ratio(p50, b50)} p95 {_report.ratio(p95, b95)}  {targets}"
    )
    print(
        f"            of which end of speech -> final transcription {_report.fmt_s(r.final)}; "
        f"final -> first tts_chunk {_report.fmt_s(r.final_to_tts)}"
    )
    u = r.usage
    print(
        f"            CPU used: daphne {u['server_cpu']:.2f} cores (event-loop thread "
        f"{u['loop_cpu']:.2f}), this client + stand-in {u['client_cpu']:.2f} cores over "
        f"{u['wall']:.0f} s; {u['load']} at the end; max sender lag {r.behind * 1000:.0f} ms"
    )
    for line in [*r.missed, *r.errors][:4]:
        print("           ", line[:200])
    if len(r.missed) + len(r.errors) > 4:
        print(f"            ... {len(r.missed)} missed, {len(r.errors)} errors in all")


def report(results: dict, base: _latency.BaselineResult, args) -> None:
    print()
    print(
        f"engine alone, end of speech -> final (in process)  {_report.fmt_s(base.latencies)}  "
        f"unmatched {base.missed}"
    )
    offline = None
    for name, runs in results.items():
        if name.startswith("_"):
            continue
        one, many = runs["one"], runs["many"]
        t = TARGETS
        print(f"responder: {name}")
        report_run(
            "1 call",
            one,
            base,
            f"[p50 <= {t['one_p50']} s: {verdict(one.reply, 50, t['one_p50'])}, "
            f"p95 <= {t['one_p95']} s: {verdict(one.reply, 95, t['one_p95'])}]",
        )
        report_run(
            f"{args.calls} calls",
            many,
            base,
            f"[p50 <= {t['many_p50']} s: {verdict(many.reply, 50, t['many_p50'])}]",
        )
        print(
            f"  barge-in  start of interrupting speech -> tts_interruption  "
            f"{_report.fmt_s(one.interrupt)}  [p50 <= {t['interrupt_p50']} s: "
            f"{verdict(one.interrupt, 50, t['interrupt_p50'])}]; tts_chunks of an interrupted "
            f"reply after its tts_interruption: {one.late_chunks}"
        )
        if offline is None:
            offline = runs
            continue
        for label, key in (("first tts_chunk", "reply"), ("final -> tts_chunk", "final_to_tts")):
            added = [
                _report.pct(getattr(runs[k], key), 50) - _report.pct(getattr(offline[k], key), 50)
                for k in ("one", "many")
            ]
            print(
                f"  added by the LLM path vs offline, p50 of {label}: 1 call "
                f"{added[0] * 1000:+.0f} ms, {args.calls} calls {added[1] * 1000:+.0f} ms"
            )
        print(f"  stand-in requests: {results['_llm_requests']['n']}")
    print("(targets are the issue's, set for the offline responder on these 2 cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=8, help="questions in the 1-call run")
    parser.add_argument(
        "--interruptions", type=int, default=4, help="of them talked over (every other one)"
    )
    parser.add_argument("--calls", type=int, default=4, help="calls at once in the N-call run")
    parser.add_argument(
        "--concurrent-turns", type=int, default=3, help="questions per call in the N-call run"
    )
    parser.add_argument("--llm-delay", type=float, default=0.3, help="stand-in first token (s)")
    parser.add_argument("--bound", type=float, default=600.0, help="longest a run may take (s)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch DATA_DIR")
    args = parser.parse_args()

    questions, interruptions = synthesise(QUESTIONS), synthesise(INTERRUPTIONS)
    spoken = [(q.end - q.start) / RATE for q in questions]
    print(
        f"{len(questions)} piper questions ({min(spoken):.1f}-{max(spoken):.1f} s of speech), "
        f"{len(interruptions)} interruptions; {FRAME_BYTES}-byte frames "
        f"({FRAME_SECONDS * 1000:.0f} ms) at 24 kHz, real-time pace; {_report.load_average()} "
        "at start"
    )
    base = _latency.engine_baseline(
        baseline_stream(questions), FRAME_SECONDS, baseline_options(), rate=RATE
    )
    server = srv.start_server(keep=args.keep)
    try:
        results = asyncio.run(measure(server, questions, interruptions, args))
    finally:
        server.stop()
    report(results, base, args)
    print(f"{_report.load_average()} (machine shared: figures are noisy)")
    server.report_problems()


if __name__ == "__main__":
    main()
