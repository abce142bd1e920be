"""Barge-in: what the person has heard of the agent's reply, and when talking over it
means "stop".

`Playback` follows a reply's audio as the client plays it. The client plays each
chunk as it arrives, in real time, from the first one, so what has been heard is the
wall time since the first chunk, capped by what was sent. The server keeps only a
small lead over the client (`lead()`): audio already sent cannot be recalled (the
NextEVI React SDK plays every sample it has, whatever the server says), so pacing is
what makes an interruption audible. `heard_text()` is the reply truncated to what was
played, for the conversation history.

`BargeInGuard` decides whether speech that starts while the agent talks is an
interruption. It opens at the engine's `speech_start` (never shed, unlike partials)
and interrupts when the speech has lasted `threshold` seconds, unless all that was
recognised of it is backchannel ("uh-huh", "yeah", "okay") or the agent's own words
coming back through the microphone, or as soon as two words are neither. A cough is
too short; "uh-huh" is a backchannel; both leave the reply playing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Said to show one is listening, not to take the turn; compared as `words_of` gives them.
BACKCHANNELS = frozenset(
    {
        "ah",
        "aha",
        "alright",
        "hm",
        "hmm",
        "huh",
        "mhm",
        "mm",
        "mmhmm",
        "mmm",
        "oh",
        "ok",
        "okay",
        "right",
        "sure",
        "uh",
        "uhhuh",
        "um",
        "yeah",
        "yep",
        "yes",
    }
)
DEFAULT_THRESHOLD = 0.5  # seconds of speech (NextEVI's turn_detection.interrupt_threshold)
ECHO_WINDOW = 12  # the reply's last words heard, that a microphone may pick up again
_WORD = re.compile(r"[^\w']+")


def words_of(text: str) -> list[str]:
    """Lower-cased words without punctuation, hyphens or apostrophes ("uh-huh" -> "uhhuh")."""
    return [w for w in (_WORD.sub("", part.lower()).replace("'", "") for part in text.split()) if w]


@dataclass(slots=True)
class _Clause:
    text: str
    seconds: float


@dataclass
class Playback:
    """One reply's audio, as the client hears it."""

    clock: Callable[[], float] = time.monotonic
    started_at: float | None = None
    sent_seconds: float = 0.0
    clauses: list[_Clause] = field(default_factory=list)

    def sent(self, seconds: float, clause: str | None = None) -> None:
        """`seconds` more audio went out; `clause` names the text it speaks when it is
        the first audio of a new clause."""
        if self.started_at is None:
            self.started_at = self.clock()
        if clause is not None:
            self.clauses.append(_Clause(clause, 0.0))
        if self.clauses:
            self.clauses[-1].seconds += seconds
        self.sent_seconds += seconds

    def heard_seconds(self) -> float:
        if self.started_at is None:
            return 0.0
        return min(self.sent_seconds, self.clock() - self.started_at)

    def lead(self) -> float:
        """Audio sent but not yet played: how far ahead of the listener the server is."""
        return self.sent_seconds - self.heard_seconds()

    def playing(self) -> bool:
        return self.started_at is not None and self.lead() > 0.0

    def heard_text(self) -> str:
        """The reply as far as it was heard: whole clauses, then the words of the clause
        being played in proportion to its time played."""
        left = self.heard_seconds()
        heard: list[str] = []
        for clause in self.clauses:
            if left >= clause.seconds:
                heard.append(clause.text)
                left -= clause.seconds
                continue
            words = clause.text.split()
            if clause.seconds > 0 and words:
                part = words[: int(len(words) * left / clause.seconds)]
                if part:
                    heard.append(" ".join(part))
            break
        return " ".join(heard)


@dataclass
class BargeInGuard:
    """Speech over the agent's reply: is it meant to interrupt?"""

    threshold: float = DEFAULT_THRESHOLD
    started_at: float | None = None  # audio time of the speech start being judged

    def speech_started(self, at: float) -> None:
        self.started_at = at

    def speech_ended(self) -> None:
        """The utterance is over (its final came): nothing more to judge."""
        self.started_at = None

    @property
    def judging(self) -> bool:
        return self.started_at is not None

    def interrupts(self, *, audio_time: float, text: str, reply_heard: str) -> bool:
        """Judge the open speech: `audio_time` is how far the stream's audio has got,
        `text` what has been recognised of the speech so far (a partial or its final),
        `reply_heard` what the person has heard of the reply (for echoes)."""
        if self.started_at is None:
            return False
        recent = set(words_of(reply_heard)[-ECHO_WINDOW:])
        heard = words_of(text)
        meant = [w for w in heard if w not in BACKCHANNELS and w not in recent]
        if len(meant) >= 2:
            return True
        long_enough = audio_time - self.started_at >= self.threshold
        # Sustained speech interrupts, unless what it said so far is only listening
        # noises or the reply's own words (before any text, the duration decides).
        return long_enough and (not heard or bool(meant))
