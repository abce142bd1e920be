"""The voice playground in a real browser (Debian chromium, driven by Playwright) whose
microphone is a WAV of a spoken question (Chromium's fake capture device): the page
connects with a JWT in the query as NextEVI's SDK encodes it, shows the user's words and
the reply, and plays the reply's speech through its 24 kHz AudioWorklet."""

import contextlib
import re
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import numpy as np
import pytest

from tests.support import ROOT
from tests.support.browser import CHROMIUM, LAUNCH_ARGS
from tests.support.servers import AsgiServer, server_env

QUESTION = "What time does the store open tomorrow morning?"
MIC_RATE = 48000  # what a real microphone (and Chromium's fake one) delivers
CALLER_ARGS = [
    *LAUNCH_ARGS,
    # The user: permission granted without a prompt, the microphone read from a file.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def test_the_playground_page_fills_its_fields_from_the_query_under_a_strict_policy(client):
    response = client.get("/voice/playground/", {"config_id": "cfg_abc", "token": "a.b.c"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="cfg_abc"' in html and 'value="a.b.c"' in html
    assert "api_key" not in html, "the page never asks for an API key"
    assert "/static/voice/playground.js" in html and "/static/voice/playback-worklet.js" in html
    assert "<script>" not in html, "no inline script: the policy allows only the page's files"
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_playground_page_is_for_reading_only(client):
    assert client.post("/voice/playground/", {"token": "a.b.c"}).status_code == 405


@pytest.fixture(scope="module")
def playground_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[AsgiServer]:
    """A daphne serving the page's static files collected as a deployment collects them:
    with DEBUG off, WhiteNoise serves what `collectstatic` put in STATIC_ROOT."""
    data_dir = tmp_path_factory.mktemp("playground")
    env = server_env(DATA_DIR=str(data_dir))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = AsgiServer(env, data_dir / "daphne.log")
    yield server
    server.stop()


@pytest.fixture
def server(playground_server, transactional_db) -> AsgiServer:
    """The running server, with test data committed so that it can see it."""
    return playground_server


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory) -> Path:
    """The question in piper's voice, at the microphone's 48 kHz, with a second of silence
    before it (the page connects first) and three after it (the end of the turn)."""
    from sessions_app.dialogue.speech import Synthesizer

    speech = np.frombuffer(b"".join(Synthesizer().synthesize(QUESTION)), "<i2")
    rate = Synthesizer.sample_rate
    at_mic_rate = np.interp(
        np.arange(len(speech) * MIC_RATE // rate) * rate / MIC_RATE,
        np.arange(len(speech)),
        speech.astype(np.float32),
    ).astype("<i2")
    silence = np.zeros(MIC_RATE, "<i2")
    path = tmp_path_factory.mktemp("mic") / "question.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIC_RATE)
        out.writeframes(np.concatenate([silence, at_mic_rate, silence, silence, silence]).tobytes())
    return path


@contextlib.contextmanager
def chromium(microphone: Path) -> Iterator:
    """A fresh page in headless chromium whose microphone plays `microphone` once.

    Playwright's sync API keeps an asyncio loop running in this thread while it is open,
    and Django refuses ORM calls under a running loop: open it only after the test has
    read what it needs from the database."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    args = [*CALLER_ARGS, f"--use-file-for-fake-audio-capture={microphone}%noloop"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        try:
            yield browser.new_page(viewport={"width": 900, "height": 900})
        finally:
            browser.close()


def _config_id(customer) -> str:
    from accounts.models import Config

    return Config.objects.filter(project__customer=customer.customer).first().public_id


def _token(server: AsgiServer, customer) -> str:
    response = httpx.post(
        f"{server.url}/v1/auth/token", headers={"X-API-Key": customer.secret}, json={}, timeout=30
    )
    return response.json()["access_token"]


def _stats(page) -> dict:
    return page.evaluate("() => window.voicePlayground")


def _open(page, server: AsgiServer, **fields: str) -> list[str]:
    """Load the playground with `fields` in its query and press Connect; returns the list
    that fills with the URLs of the sockets the page opens. (Predicates given to the page
    are functions: its policy forbids evaluating strings, and Playwright's string
    predicates are evaluated so.)"""
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    assert page.goto(f"{server.url}/voice/playground/?{urlencode(fields)}").status == 200
    page.click("#connect")
    return sockets


@pytest.mark.integration
def test_the_playground_hears_the_microphone_shows_the_words_and_reply_and_plays_the_speech(
    server, customer_with_credits, question_wav, tmp_path
):
    config_id = _config_id(customer_with_credits)
    token = _token(server, customer_with_credits)
    with chromium(question_wav) as page:
        sockets = _open(page, server, token=token, config_id=config_id)
        page.wait_for_function("() => window.voicePlayground.state === 'connected'", timeout=20_000)
        assert "token" not in page.url, "the token is not kept in the address bar"
        try:
            # The reply's final text, and a second of its speech heard through the worklet.
            page.wait_for_function(
                "() => document.querySelector('.bubble.assistant:not(.streaming)')"
                " && window.voicePlayground.samplesPlayed >= 24000",
                timeout=90_000,
            )
        except Exception:
            pytest.fail(f"no reply played; the page saw {_stats(page)}")
        stats = _stats(page)
        user = page.locator(".bubble.user:not(.interim) .text").first.inner_text().lower()
        reply = page.locator(".bubble.assistant .text").first.inner_text()
        emotions = page.locator(".bubble.user .emotions li").all_inner_texts()
        shot = tmp_path / "playground.png"
        page.screenshot(path=str(shot), full_page=True)
        page.click("#disconnect")
        page.wait_for_function("() => window.voicePlayground.state === 'closed'", timeout=10_000)
    print(f"screenshot: {shot}")

    # Connected as the SDK connects: its connection id, the JWT form-encoded in the query.
    (url,) = sockets
    parts = urlsplit(url)
    assert re.fullmatch(r"/ws/voice/voice_\d{13}_[0-9a-z]{9}", parts.path), url
    assert parts.query.startswith("authorization=Bearer+"), url
    assert dict(parse_qsl(parts.query)) == {
        "authorization": f"Bearer {token}",
        "config_id": config_id,
    }
    assert stats["framesSent"] > 20, stats  # the microphone, in 2048-sample frames

    assert "store" in user and "open" in user, user
    assert "transcription" in stats["received"] and "emotion_update" in stats["received"], stats
    assert emotions, "the user's turn carries its emotions"
    assert reply.strip(), "the assistant's reply is shown"
    assert stats["ttsChunks"] > 0 and stats["samplesPlayed"] >= 24000, stats
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.integration
def test_the_playground_shows_a_refused_jwt_and_the_close_reason(
    server, customer_with_credits, question_wav
):
    config_id = _config_id(customer_with_credits)
    forged = _token(server, customer_with_credits).rsplit(".", 1)[0] + ".forged-signature"
    with chromium(question_wav) as page:
        _open(page, server, token=forged, config_id=config_id)
        page.wait_for_function("() => window.voicePlayground.state === 'closed'", timeout=20_000)
        error = page.locator(".bubble.error").first.inner_text()
        detail = page.locator("#status-detail").inner_text()
        stats = _stats(page)
    assert error.startswith("AUTH_FAILED: "), error
    assert stats["closeCode"] == 4001 and stats["closeReason"], stats
    assert detail == f"code 4001: {stats['closeReason']}", detail
