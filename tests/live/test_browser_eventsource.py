"""A real browser (Debian chromium, driven by Playwright) reads a live session's events
with EventSource, authenticating with `?api_key=` as browsers must, against the real daphne."""

from urllib.parse import quote

import pytest

from tests.support.browser import CHROMIUM, LAUNCH_ARGS
from tests.support.live import control, start_session, upload_all

pytestmark = [pytest.mark.integration]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

EVENT_TYPES = [
    "status",
    "partial_transcript",
    "final_transcript",
    "emotion",
    "cognitive",
    "summary_update",
    "done",
    "error",
]

# Opens the EventSource and records, in window.received, every named event with its
# lastEventId and parsed data. A server-sent `event: error` carries data; the browser's own
# connection error (e.g. a 401) is a plain Event without it and goes to window.connectionErrors.
OPEN_EVENT_SOURCE = """
([url, types]) => {
  window.received = [];
  window.connectionErrors = [];
  window.opens = 0;
  const source = new EventSource(url);
  window.source = source;
  source.onopen = () => { window.opens += 1; };
  for (const type of types) {
    source.addEventListener(type, (e) => {
      if (type === "error" && e.data === undefined) {
        window.connectionErrors.push({readyState: source.readyState});
        return;
      }
      let data = e.data;
      try { data = JSON.parse(e.data); } catch (_) {}
      window.received.push({type: type, lastEventId: e.lastEventId, data: data});
      if (type === "done" || type === "error") source.close();
    });
  }
}
"""


@pytest.fixture
def page(live, customer_with_credits):
    """A fresh chromium page on the server's origin.

    Playwright's sync API keeps an asyncio loop running in this thread while it is open, and
    Django refuses ORM calls under a running loop. So the browser is started only after the
    database fixtures (the persona, the transactional test database) are set up, and closed
    before they are torn down; the test body itself talks to the server over HTTP only.
    """
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            # Same origin as the API, so EventSource needs no CORS.
            assert page.goto(f"{live.url}/healthz").status == 200
            yield page
        finally:
            browser.close()


def received(page) -> list[dict]:
    return page.evaluate("window.received")


def test_browser_eventsource_reads_a_live_session_to_done(
    http, live, page, customer_with_credits, jfk_wav, tmp_path
):
    c = customer_with_credits
    session = start_session(http, c)
    url = f"{session['events_endpoint']}?api_key={quote(c.secret, safe='')}"
    page.evaluate(OPEN_EVENT_SOURCE, [url, EVENT_TYPES])
    page.wait_for_function("window.received.some(e => e.type === 'status')", timeout=15_000)

    upload_all(http, c, session, jfk_wav, size=32000)
    assert control(http, c, session, "finalize").json()["status"] == "finalizing"
    try:
        page.wait_for_function(
            "window.received.some(e => e.type === 'done' || e.type === 'error')",
            timeout=90_000,
        )
    except sync_api.TimeoutError:
        pytest.fail(f"no done in the browser; got {[e['type'] for e in received(page)]}")

    events = received(page)
    types = [e["type"] for e in events]
    assert "error" not in types, events
    assert page.evaluate("window.connectionErrors") == []
    assert page.evaluate("window.opens") == 1, "one connection, no reconnects"
    assert page.evaluate("window.source.readyState") == 2, "closed by the page on done"

    assert types[0] == "status" and events[0]["data"]["phase"] == "waiting_media"
    finals = [e["data"] for e in events if e["type"] == "final_transcript"]
    assert finals, types
    text = " ".join(f["text"] for f in finals).lower()
    assert "country" in text, text
    assert "emotion" in types and "cognitive" in types, types
    assert "summary_update" in types, types
    assert types[-1] == "done" and events[-1]["data"] == {
        "conversation_id": session["conversation_id"]
    }

    ids = [e["lastEventId"] for e in events]
    assert all(i.isdigit() for i in ids), ids
    numbers = [int(i) for i in ids]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers

    # Rendering works too: draw what arrived and screenshot it (outside the repo).
    page.set_content("<h1>Received</h1><ul id=events></ul>")
    page.evaluate(
        """(types) => {
          const list = document.getElementById("events");
          for (const type of types) {
            const item = document.createElement("li");
            item.textContent = type;
            list.appendChild(item);
          }
        }""",
        types,
    )
    assert page.locator("#events li").count() == len(types)
    shot = tmp_path / "events.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_browser_eventsource_with_a_wrong_api_key_is_refused(
    http, live, page, customer_with_credits
):
    c = customer_with_credits
    session = start_session(http, c)
    wrong = c.secret[:-4] + ("AAAA" if not c.secret.endswith("AAAA") else "BBBB")
    url = f"{session['events_endpoint']}?api_key={quote(wrong, safe='')}"
    events_url = f"{live.url}{session['events_endpoint']}"
    with page.expect_response(lambda r: r.url.startswith(events_url), timeout=5_000) as refused:
        page.evaluate(OPEN_EVENT_SOURCE, [url, EVENT_TYPES])
    assert refused.value.status == 401
    # A non-200 fails the connection for good: the generic error fires and it stays CLOSED.
    page.wait_for_function("window.source.readyState === 2", timeout=5_000)
    page.wait_for_function("window.connectionErrors.length > 0", timeout=5_000)
    assert page.evaluate("window.received") == []
    assert page.evaluate("window.opens") == 0
