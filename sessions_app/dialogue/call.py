"""One voice call's conversation: user turns in, the assistant's reply out, spoken, paced
and interruptible.

The surface tells the call what the person did (a finished turn, speech starting,
words heard while the agent talks) and the call answers through the surface's
`CallOutput` (the reply's text so far, its audio chunks, an interruption). A reply is
one task: the responder's deltas become clauses (speech.ClauseSplitter), each clause
24 kHz audio (speech.Synthesizer, on the engine's scheduler below recognition finals),
sent no more than `lead` seconds ahead of what the client has played (barge_in.Playback),
because audio already sent cannot be recalled. Barge-in cancels the task at once (the
responder's stream is closed), and the history keeps the reply as far as it was heard,
marked interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import Protocol

from sessions_app.dialogue.barge_in import BargeInGuard, Playback
from sessions_app.dialogue.responders import (
    AssistantTurn,
    Emotion,
    Responder,
    ResponderError,
    Turn,
    UserTurn,
)
from sessions_app.dialogue.speech import OUTPUT_RATE, ClauseSplitter, Synthesizer

log = logging.getLogger("parlance.voice")

LEAD_SECONDS = 0.3  # audio sent ahead of the listener: enough to never run dry
APOLOGY = "Sorry, I had trouble answering that. Could you say it again?"


class CallOutput(Protocol):
    """What the call says, for the surface to put on the wire."""

    async def reply_text(
        self, content: str, *, generation_id: str, index: int, final: bool
    ) -> None: ...

    async def reply_audio(self, pcm: bytes, *, chunk_id: str, is_last: bool) -> None: ...

    async def interrupted(self) -> None: ...

    async def reply_failed(self, message: str) -> None: ...


def _seconds(pcm: bytes) -> float:
    return len(pcm) / 2 / OUTPUT_RATE


class Call:
    def __init__(
        self,
        responder: Responder,
        synthesizer: Synthesizer,
        output: CallOutput,
        *,
        system_prompt: str = "",
        interrupt_threshold: float = 0.5,
        lead: float = LEAD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.responder = responder
        self.synthesizer = synthesizer
        self.output = output
        self.system_prompt = system_prompt
        self.guard = BargeInGuard(interrupt_threshold)
        self.lead = lead
        self.clock = clock
        self.history: list[Turn] = []
        self._generations = itertools.count(1)
        self._reply: asyncio.Task | None = None
        self._playback: Playback | None = None

    # -- what the person did ---------------------------------------------------------------
    async def final(self, text: str, emotion: Emotion, *, audio_time: float) -> bool:
        """An utterance's final transcript. It is the person's turn, answered now, unless
        it came while the agent talks and was only a backchannel or an echo (the guard
        did not interrupt): then the reply plays on. Returns whether it was a turn."""
        if self.speaking and not await self.heard(audio_time=audio_time, text=text):
            self.guard.speech_ended()
            return False
        self.guard.speech_ended()
        if text.strip():
            self._start(UserTurn(text, emotion))
        return True

    async def typed(self, text: str) -> None:
        """A typed turn (text_input): it takes the turn, interrupting a reply."""
        if self.speaking:
            await self.interrupt()
        self._start(UserTurn(text))

    def _start(self, turn: UserTurn) -> None:
        previous = self._reply
        self._reply = asyncio.create_task(self._answer(turn, previous))

    def greet(self, text: str) -> None:
        """Speak the config's greeting as the assistant's first turn."""
        self._reply = asyncio.create_task(self._say(text))

    @property
    def speaking(self) -> bool:
        """A reply is being written or spoken, or its audio is still playing."""
        running = self._reply is not None and not self._reply.done()
        return running or (self._playback is not None and self._playback.playing())

    def speech_started(self, at: float) -> None:
        if self.speaking:
            self.guard.speech_started(at)

    async def heard(self, *, audio_time: float, text: str) -> bool:
        """Speech over the reply so far; interrupts (and returns True) when the guard says
        it is meant to."""
        if not self.guard.judging or not self.speaking:
            return False
        heard = self._playback.heard_text() if self._playback else ""
        if not self.guard.interrupts(audio_time=audio_time, text=text, reply_heard=heard):
            return False
        await self.interrupt()
        return True

    async def interrupt(self) -> None:
        """Stop the reply now; the history keeps what was heard of it."""
        self.guard.speech_ended()
        task, self._reply = self._reply, None
        playback, self._playback = self._playback, None
        if task is None or task.done():
            if playback is None or not playback.playing():
                return
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        heard = playback.heard_text() if playback else ""
        last = self.history[-1] if self.history else None
        if isinstance(last, AssistantTurn) and not last.interrupted:
            self.history.pop()  # written in full, but not all of it was heard
        if heard:
            self.history.append(AssistantTurn(heard, interrupted=True))
        await self.output.interrupted()

    async def close(self) -> None:
        task, self._reply = self._reply, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.responder.aclose()

    # -- the reply -----------------------------------------------------------------------
    async def _answer(self, turn: UserTurn, previous: asyncio.Task | None) -> None:
        if previous is not None and not previous.done():
            previous.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await previous
        history = list(self.history)
        self.history.append(turn)
        try:
            await self._speak_stream(self.responder.reply(self.system_prompt, history, turn))
        except ResponderError as exc:
            log.warning("responder failed: %s", exc)
            await self.output.reply_failed(str(exc))
            await self._say(APOLOGY, record=False)

    async def _say(self, text: str, *, record: bool = True) -> None:
        async def once():
            yield text

        await self._speak_stream(once(), record=record)

    async def _speak_stream(self, deltas, *, record: bool = True) -> None:
        generation = f"g-{next(self._generations)}"
        playback = self._playback = Playback(clock=self.clock)
        splitter = ClauseSplitter()
        content, index = "", 0
        held: list[tuple[bytes, str | None]] = []  # the newest chunk waits: is it the last?
        chunks = itertools.count()
        async with contextlib.aclosing(deltas) as stream:
            async for delta in stream:
                if not delta:
                    continue
                content += delta
                await self.output.reply_text(
                    content, generation_id=generation, index=index, final=False
                )
                index += 1
                for clause in splitter.push(delta):
                    await self._synthesize(clause, playback, held, generation, chunks)
        for clause in splitter.flush():
            await self._synthesize(clause, playback, held, generation, chunks)
        await self.output.reply_text(content, generation_id=generation, index=index, final=True)
        if held:
            await self._send(held.pop(), playback, generation, chunks, is_last=True)
        if record and content:
            self.history.append(AssistantTurn(content))

    async def _synthesize(self, clause, playback, held, generation, chunks) -> None:
        audio = await self.synthesizer.synthesize_async(clause)
        for position, pcm in enumerate(audio):
            if held:
                await self._send(held.pop(), playback, generation, chunks, is_last=False)
            held.append((pcm, clause if position == 0 else None))

    async def _send(self, item, playback: Playback, generation, chunks, *, is_last) -> None:
        pcm, clause = item
        # Pace: the client plays what it gets; keep only `lead` seconds ahead of it.
        while (ahead := playback.lead()) > self.lead:
            await asyncio.sleep(ahead - self.lead)
        await self.output.reply_audio(pcm, chunk_id=f"{generation}-{next(chunks)}", is_last=is_last)
        playback.sent(_seconds(pcm), clause)
