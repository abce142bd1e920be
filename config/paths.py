"""The one registry of URL path prefixes: what each one is, and what applies to it.

Middleware, error handlers, CORS and the upload limit each need to know which
paths are API, which are pages for people, and which refuse oversized uploads.
They all read the lists derived below, so a new prefix is declared once, here;
tests/platform/test_paths.py fails when a route in config/urls.py falls under no
declared prefix.

This module is imported by config/settings.py: it must not touch Django's
settings or apps at import time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    # Authenticated by key or token, never by cookie: JSON errors, and none of the
    # session / CSRF / login middleware the pages need.
    API = "api"
    # For people (operator console, dashboard): Django's full middleware, HTML errors.
    PAGE = "page"
    # Files served by WhiteNoise; errors are HTML pages, as for the pages that use them.
    STATIC = "static"


# MAX_FILE_SIZE_MB -> the body of the 400 that refuses an oversized upload,
# in the format of the surface that owns the path.
Refusal = Callable[[int], dict]


def illocution_too_large(limit_mb: int) -> dict:
    return {"detail": f"File too large: the limit is {limit_mb} MB (FILE_TOO_LARGE)"}


def bodhi_too_large(limit_mb: int) -> dict:
    # Imported when an upload is refused, not at settings time.
    from sessions_app.surfaces.bodhi.protocol import error_body

    return error_body(400, f"audio_file exceeds {limit_mb} MB", "File too large")


@dataclass(frozen=True, slots=True)
class UploadLimit:
    # Below the prefix: "" is all of it. Matched as a plain string prefix, as the
    # upload limit always has been ("/analyze" covers "/analyze/live/…/chunk").
    under: str
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class Prefix:
    segment: str  # the first path segment, without slashes
    kind: Kind
    cors: bool = False  # open to browsers on any origin (see CORS_* in settings)
    upload_limits: tuple[UploadLimit, ...] = ()


PREFIXES: tuple[Prefix, ...] = (
    Prefix("analyze", Kind.API, cors=True, upload_limits=(UploadLimit("", illocution_too_large),)),
    Prefix(
        "api", Kind.API, cors=True, upload_limits=(UploadLimit("/transcribe", bodhi_too_large),)
    ),
    Prefix("v1", Kind.API, cors=True),
    Prefix("metrics", Kind.API, cors=True),
    # Probes are API-shaped (JSON, no cookies) but are not for browsers.
    Prefix("healthz", Kind.API),
    Prefix("readyz", Kind.API),
    Prefix("admin", Kind.PAGE),
    Prefix("dashboard", Kind.PAGE),
    # The voice playground: a browser page that talks to /ws/voice/… as NextEVI's SDK does.
    Prefix("voice", Kind.PAGE),
    Prefix("static", Kind.STATIC),
)


def _first_segment_regex(prefixes: list[Prefix]) -> str:
    # A whole first segment: "/v1" and "/v1/…" match, "/v1x" does not.
    return rf"^/({'|'.join(p.segment for p in prefixes)})(/|$)"


CORS_URLS_REGEX = _first_segment_regex([p for p in PREFIXES if p.cors])
API_PATHS = re.compile(_first_segment_regex([p for p in PREFIXES if p.kind is Kind.API]))
HTML_PREFIXES = tuple(f"/{p.segment}/" for p in PREFIXES if p.kind is not Kind.API)
STATIC_URL = next(f"{p.segment}/" for p in PREFIXES if p.kind is Kind.STATIC)
LIMITED_PATHS: tuple[tuple[str, Refusal], ...] = tuple(
    (f"/{p.segment}{limit.under}", limit.refusal) for p in PREFIXES for limit in p.upload_limits
)
