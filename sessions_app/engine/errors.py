"""Typed errors raised by the speech engine.

Surfaces map these to their wire formats (e.g. Bodhi: 400 for ModelNotAvailable,
503 for EngineOverloaded), so each failure mode has its own class instead of a
generic exception with a message to parse.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ModelNotAvailable(EngineError):
    """The requested model name does not resolve to a usable model."""

    def __init__(self, name: str, reason: str | None = None) -> None:
        # The message is part of the Bodhi wire contract: keep it exactly like this.
        super().__init__(f"model '{name}' is not available")
        self.name = name
        self.reason = reason


class AudioFormatError(EngineError):
    """Input audio is corrupt, truncated, empty or in an unsupported format."""


class NoUtterances(EngineError):
    """The audio contains no speech the recogniser could transcribe."""


class EngineOverloaded(EngineError):
    """The inference queue is full: the work is refused rather than served late."""


class PartialDropped(EngineError):
    """A best-effort partial hypothesis was shed to make room for more important work.

    Internal to the streaming layer: callers of the public API never see it.
    """
