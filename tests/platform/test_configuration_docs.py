"""Every variable the server reads is read at start-up by config/settings.py, and is
documented in .env.example and the README's Configuration table."""

import re

from tests.support import ROOT

_READERS = re.compile(r"\benv(?:str|int|bool|choice|secret|float|pairs|dir)\(\s*\"([A-Z0-9_]+)\"")


def _variables_read_at_start_up() -> set[str]:
    return set(_READERS.findall((ROOT / "config" / "settings.py").read_text()))


def _configuration_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme[
        readme.index("## Configuration") : readme.index(
            "\n## ", readme.index("## Configuration") + 1
        )
    ]


def test_settings_read_the_variables_this_test_knows_about():
    # The regex above must keep finding them: a reader renamed would empty the set.
    assert {"DATABASE_POOL_SIZE", "ENGINE_QUEUE_SIZE", "MODEL_ALIASES", "SECRET_KEY"} <= (
        _variables_read_at_start_up()
    )


def test_env_example_lists_every_variable_read():
    example = (ROOT / ".env.example").read_text()
    missing = sorted(v for v in _variables_read_at_start_up() if f"# {v}=" not in example)
    assert not missing, f"add to .env.example: {missing}"


def test_readme_configuration_table_lists_every_variable_read():
    section = _configuration_section()
    missing = sorted(v for v in _variables_read_at_start_up() if f"`{v}`" not in section)
    assert not missing, f"add to the README's Configuration table: {missing}"


def test_nothing_under_sessions_app_reads_the_environment():
    # Settings reach the app and the engine from config/settings.py, checked at start-up.
    readers = re.compile(r"os\.environ|getenv\(")
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "sessions_app").rglob("*.py")
        if readers.search(path.read_text())
    ]
    assert not offenders, f"read these settings in config/settings.py instead: {offenders}"
