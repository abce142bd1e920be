"""config/paths.py is the one place a path prefix is declared: every route falls under
one, and the lists derived from it are the ones the middleware, error handlers, CORS
and the upload limit used before the registry existed."""

import re

from django.conf import settings
from django.urls import get_resolver, resolve

from config import async_middleware, errors, paths, upload_limits


def _routes() -> list[str]:
    # The root patterns: an included URLconf (the admin's) lives below its own route.
    return [str(pattern.pattern) for pattern in get_resolver().url_patterns]


def test_every_url_pattern_falls_under_a_declared_prefix():
    declared = {p.segment for p in paths.PREFIXES}
    routes = _routes()
    assert routes, "config/urls.py has no patterns?"
    undeclared = [r for r in routes if r.split("/", 1)[0] not in declared]
    assert not undeclared, f"declare these routes' prefixes in config/paths.py: {undeclared}"


def test_every_api_route_is_classified_api_and_every_page_route_html():
    kinds = {p.segment: p.kind for p in paths.PREFIXES}
    for route in _routes():
        path = "/" + re.sub(r"<[^>]+>", "x", route)
        is_api = paths.API_PATHS.match(path) is not None
        assert is_api == (kinds[route.split("/", 1)[0]] is paths.Kind.API), path
        assert path.startswith(paths.HTML_PREFIXES) == (not is_api), path


def test_every_upload_limited_path_is_a_route():
    for path, _ in paths.LIMITED_PATHS:
        assert resolve(path), path


def test_derived_lists_equal_the_lists_the_registry_replaced():
    assert paths.CORS_URLS_REGEX == r"^/(analyze|api|v1|metrics)(/|$)"
    assert settings.CORS_URLS_REGEX == paths.CORS_URLS_REGEX
    assert paths.API_PATHS.pattern == r"^/(analyze|api|v1|metrics|healthz|readyz)(/|$)"
    assert async_middleware.API_PATHS is paths.API_PATHS
    assert paths.HTML_PREFIXES == ("/admin/", "/dashboard/", "/voice/", "/static/")
    assert errors.HTML_PREFIXES is paths.HTML_PREFIXES
    assert [prefix for prefix, _ in paths.LIMITED_PATHS] == ["/analyze", "/api/transcribe"]
    assert upload_limits.LIMITED_PATHS is paths.LIMITED_PATHS
    assert paths.STATIC_URL == "static/"  # settings.STATIC_URL; Django adds the leading slash


def test_each_upload_limited_surface_refuses_in_its_own_format():
    refusals = dict(paths.LIMITED_PATHS)
    assert refusals["/analyze"](500) == {
        "detail": "File too large: the limit is 500 MB (FILE_TOO_LARGE)"
    }
    bodhi = refusals["/api/transcribe"](500)
    assert bodhi["message"] == "audio_file exceeds 500 MB" and bodhi["code"] == 400
