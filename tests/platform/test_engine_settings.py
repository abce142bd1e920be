"""The engine runs on a plain settings object whose defaults are the ones it had
before start-up checked them; tests inject their own."""

from dataclasses import FrozenInstanceError

import pytest

from sessions_app.engine import Scheduler, resolve_model
from sessions_app.engine.settings import EngineSettings, current, overridden


def test_engine_defaults_are_the_documented_ones():
    defaults = EngineSettings()
    assert (defaults.queue_size, defaults.max_wait, defaults.nice, defaults.cpu_threads) == (
        16,
        2.0,
        10,
        0,
    )
    assert not defaults.allow_hub and defaults.model_dir is None
    assert defaults.multilingual_model_dir is None and dict(defaults.model_aliases) == {}
    assert 1 <= defaults.workers <= 2


def test_injected_settings_size_a_new_scheduler_and_are_restored_after():
    before = current()
    with overridden(queue_size=3, max_wait=0.25, workers=1):
        scheduler = Scheduler()
        try:
            assert (scheduler.queue_size, scheduler.max_wait, scheduler.workers) == (3, 0.25, 1)
        finally:
            scheduler.shutdown()
    assert current() is before


def test_alias_names_match_whatever_their_case():
    with overridden(model_aliases={" HI-Banking-v2-8khz ": "tiny.en"}):
        assert resolve_model("hi-banking-v2-8khz").path == resolve_model(None).path


def test_settings_cannot_be_changed_after_they_are_built():
    source = {"a": "tiny.en"}
    settings = EngineSettings(model_aliases=source)
    source["b"] = "tiny.en"
    with pytest.raises(TypeError):
        settings.model_aliases["c"] = "tiny.en"  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        settings.queue_size = 1  # type: ignore[misc]
    assert dict(settings.model_aliases) == {"a": "tiny.en"}
