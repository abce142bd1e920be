"""A bad environment value stops start-up with a message naming the variable; good
values reach the parts that read them, the Django-free engine included."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT


def start_with(*command: str, **env: str) -> subprocess.CompletedProcess:
    """`manage.py check` (or `manage.py *command`) started with `env` and nothing else."""
    base = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "s",
        "JWT_SIGNING_KEY": "j" * 32,
        "DATA_DIR": str(ROOT / "var"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *(command or ("check",))],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("ENABLE_LIVE_STREAMING", "maybe"),
        ("MAX_FILE_SIZE_MB", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("JWT_TTL_SECONDS", "7200"),
        # The engine's settings are checked at start-up too, not at the first inference.
        ("ENGINE_WORKERS", "two"),
        ("ENGINE_WORKERS", "0"),
        ("ENGINE_CPU_THREADS", "-1"),
        ("ENGINE_NICE", "20"),
        ("ENGINE_QUEUE_SIZE", "0"),
        ("ENGINE_MAX_WAIT", "soon"),
        ("ENGINE_MAX_WAIT", "nan"),
        ("ENGINE_ALLOW_HUB", "maybe"),
        ("MODEL_ALIASES", "hi-banking-v2-8khz"),
        ("MODEL_ALIASES", "hi-banking-v2-8khz=,x=tiny.en"),
        ("WHISPER_MODEL_DIR", "/no/such/model"),
        ("WHISPER_MULTILINGUAL_MODEL_DIR", "/no/such/model"),
    ],
)
def test_bad_value_names_the_variable(variable, value):
    done = start_with(**{variable: value})
    assert done.returncode != 0
    assert variable in done.stderr


def test_secret_key_is_required_outside_debug():
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "JWT_SIGNING_KEY": "j" * 32},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "SECRET_KEY must be set" in done.stderr


def test_good_environment_starts():
    done = start_with(PORT="8080", ENABLE_LIVE_STREAMING="false")
    assert done.returncode == 0, done.stderr


# Printed by a started process: the settings its engine runs on.
_ENGINE_REPORT = """
import json
from sessions_app.engine import get_scheduler, resolve_model
from sessions_app.engine.settings import current
scheduler, settings = get_scheduler(), current()
print(json.dumps({
    "queue_size": scheduler.queue_size,
    "max_wait": scheduler.max_wait,
    "workers": scheduler.workers,
    "nice": settings.nice,
    "cpu_threads": settings.cpu_threads,
    "allow_hub": settings.allow_hub,
    "default": resolve_model(None).path,
    "alias": resolve_model("hi-banking-v2-8khz").path,
}))
"""


def started_engine(**env: str) -> dict:
    done = start_with("shell", "-c", _ENGINE_REPORT, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_started_server_hands_the_engine_its_configured_values():
    engine = started_engine(
        ENGINE_QUEUE_SIZE="5",
        ENGINE_MAX_WAIT="0.5",
        ENGINE_WORKERS="1",
        ENGINE_NICE="3",
        ENGINE_CPU_THREADS="1",
        ENGINE_ALLOW_HUB="true",
        MODEL_ALIASES="HI-banking-v2-8khz = tiny.en,",
    )
    assert (engine["queue_size"], engine["max_wait"], engine["workers"]) == (5, 0.5, 1)
    assert (engine["nice"], engine["cpu_threads"], engine["allow_hub"]) == (3, 1, True)
    assert engine["alias"] == engine["default"]


def test_started_server_uses_the_configured_model_dir(tmp_path):
    from sessions_app.engine import resolve_model

    # Another directory holding the bundled model's files: a model of the operator's.
    for file in Path(resolve_model(None).path).iterdir():
        (tmp_path / file.name).symlink_to(file)
    engine = started_engine(
        WHISPER_MODEL_DIR=str(tmp_path), MODEL_ALIASES="hi-banking-v2-8khz=default"
    )
    assert engine["default"] == engine["alias"] == str(tmp_path)
