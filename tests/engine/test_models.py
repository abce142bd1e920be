from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from sessions_app.engine import ModelNotAvailable, get_model, model_ready, resolve_model
from sessions_app.engine.settings import current, overridden


def test_unknown_model_name_gives_model_not_available_with_exact_message():
    with pytest.raises(ModelNotAvailable) as info:
        resolve_model("zz-banking-v2-8khz")
    assert str(info.value) == "model 'zz-banking-v2-8khz' is not available"


def test_default_and_english_bodhi_names_resolve_to_bundled_tiny_en():
    default = resolve_model(None)
    assert default.english_only
    for name in ("tiny.en", "en-general-v2-8khz", "en-banking-v2-16khz"):
        spec = resolve_model(name)
        assert spec.path == default.path
    assert resolve_model("en-general-v2-8khz").language == "en"


def test_non_english_bodhi_name_is_not_available_without_multilingual_model():
    with (
        overridden(multilingual_model_dir=None),
        pytest.raises(ModelNotAvailable, match=r"^model 'hi-banking-v2-8khz' is not available$"),
    ):
        resolve_model("hi-banking-v2-8khz")


def test_english_only_dir_does_not_count_as_multilingual():
    english = resolve_model(None).path
    with overridden(multilingual_model_dir=english), pytest.raises(ModelNotAvailable):
        resolve_model("hi-general-v2-8khz")


def test_local_ct2_directory_path_resolves():
    path = resolve_model(None).path
    assert resolve_model(path).path == path


def test_hub_names_are_refused_by_default():
    with overridden(allow_hub=False):
        for name in ("small", "Systran/faster-whisper-base", "/no/such/dir"):
            with pytest.raises(ModelNotAvailable):
                resolve_model(name)


def test_model_is_loaded_once_and_shared(model):
    assert get_model() is model
    assert get_model("en-general-v2-8khz") is model
    assert model_ready()
    assert not model_ready("zz-general-v2-8khz")


def test_engine_package_does_not_import_django():
    import subprocess
    import sys

    code = "import sys, sessions_app.engine; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_operator_alias_makes_a_hard_coded_model_name_available():
    with pytest.raises(ModelNotAvailable):
        resolve_model("hi-banking-v2-8khz")
    # MODEL_ALIASES="hi-banking-v2-8khz=tiny.en, zz-custom = tiny.en", as start-up parses it.
    with overridden(model_aliases={"hi-banking-v2-8khz": "tiny.en", "zz-custom": "tiny.en"}):
        spec = resolve_model("hi-banking-v2-8khz")
        assert spec.name == "hi-banking-v2-8khz" and spec.path == resolve_model("tiny.en").path
        assert resolve_model("ZZ-custom").path == spec.path


@pytest.mark.skipif(not hasattr(os, "nice"), reason="per-thread niceness is Linux's")
def test_inference_threads_run_below_the_request_threads_priority():
    get_model()

    def niceness(task: Path) -> int:
        return int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])

    tasks = Path(f"/proc/{os.getpid()}/task")
    levels = {niceness(task) for task in tasks.iterdir()}
    base = niceness(tasks / str(threading.get_native_id()))
    assert current().nice == 10  # the default
    # CTranslate2's workers, started on the lowered loader thread.
    assert min(19, base + 10) in levels
