"""A bad environment value stops start-up with a message naming the variable."""

import subprocess
import sys

import pytest

from tests.support import ROOT


def start_with(**env: str) -> subprocess.CompletedProcess:
    base = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "s",
        "JWT_SIGNING_KEY": "j" * 32,
        "DATA_DIR": str(ROOT / "var"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
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
