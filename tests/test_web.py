"""Browser tests of the chat page (web/), against the real app in headless Chromium.

Needs Debian's Chromium (``apt-get install chromium``) plus playwright and pytest-playwright;
see shared BROWSER_TESTS.md. Without a browser the module is skipped, except under CI=true,
where it fails so that CI can never pass without running these tests.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
CORPUS = REPO / "corpus"
SHOTS = REPO / "test-results" / "screenshots"


def _find_chromium() -> str | None:
    override = os.environ.get("CHROMIUM_PATH")
    if override:
        return override if Path(override).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


CHROMIUM = _find_chromium()
if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        pytest.fail(
            "Chromium not found (set CHROMIUM_PATH or apt-get install chromium): "
            "browser tests must run in CI",
            pytrace=False,
        )
    pytest.skip(
        "Chromium not found: set CHROMIUM_PATH or apt-get install chromium",
        allow_module_level=True,
    )

from playwright.sync_api import Page, Route, expect  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HQ_QUESTION = "Where is the IOM headquarters?"
NONSENSE = "asdf qwerty zxcv"
XSS = "<img src=x onerror=alert(1)>"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}

expect.set_options(timeout=10_000)


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": DESKTOP}


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    yield from _serve(CORPUS)


def _serve(corpus: Path) -> Iterator[str]:
    """The real app over ``corpus`` on a free loopback port, in a thread, until closed."""
    from qabot import QABot
    from qabot.server import create_app

    yield from _serve_app(create_app(bot=QABot.from_path(corpus)))


def _serve_app(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """``app`` on a free loopback port, in a thread, until closed."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="qabot-web-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def chat(page: Page, server_url: str) -> Iterator[Page]:
    """The chat page, loaded, with console errors and page errors failing the test."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    page.goto(server_url + "/")
    expect(page.locator("#suggestions button").first).to_be_visible()
    yield page
    assert problems == [], problems


def _box(page: Page):
    return page.get_by_label("Your question")


def _send(page: Page):
    return page.get_by_role("button", name="Send")


def _ask(page: Page, question: str) -> None:
    _box(page).fill(question)
    _box(page).press("Enter")


def _bot_replies(page: Page):
    return page.locator("#log .msg-bot")


def _shot(page: Page, name: str, *, jpeg: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    if jpeg:
        page.screenshot(path=str(SHOTS / f"{name}.jpg"), type="jpeg", quality=75)
    else:
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def _fake_answer(answer: str, **extra) -> dict:
    body = {
        "question": "q",
        "found": True,
        "answer": answer,
        "section": "Long words",
        "document": "iom.txt",
        "score": 0.55,
        "highlight": None,
        "alternatives": [],
        "message": None,
    }
    body.update(extra)
    return body


# ---------------------------------------------------------------------------- static checks


def test_app_js_never_parses_markup() -> None:
    source = (WEB / "app.js").read_text(encoding="utf-8")
    banned = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b"
        r"|createContextualFragment|DOMParser|srcdoc"
    )
    assert banned.findall(source) == []


def test_page_files_have_no_inline_code_or_external_resources() -> None:
    html = (WEB / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert "<style" not in html
    assert re.findall(r"\sstyle\s*=", html) == []
    assert re.findall(r"\son[a-z]+\s*=", html) == []  # no inline event handlers
    for name in ("index.html", "app.js", "style.css"):
        text = (WEB / name).read_text(encoding="utf-8")
        assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text) == [], name
        assert "@import" not in text and "@font-face" not in text, name


# ---------------------------------------------------------------------------- browser tests


def test_security_headers_on_index(page: Page, server_url: str) -> None:
    response = page.goto(server_url + "/")
    assert response is not None and response.ok
    headers = response.headers
    assert "default-src 'self'" in headers.get("content-security-policy", "")
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "no-referrer"


def test_ask_question_shows_answer_with_section_mark_and_confidence(chat: Page) -> None:
    page = chat
    expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
    title = page.locator("#corpus-title")
    expect(title).to_contain_text("International Organization for Migration")

    _box(page).fill(HQ_QUESTION)
    _send(page).click()

    answer = page.locator("#log .bubble-answer")
    expect(answer).to_have_count(1)
    expect(page.locator("#log .bubble-user")).to_have_text(re.compile(re.escape(HQ_QUESTION)))
    expect(answer.locator("mark")).to_have_count(1)
    expect(answer.locator("mark")).to_contain_text("Geneva")
    source = answer.locator(".source").first
    expect(source).to_contain_text("Section: ")
    expect(source).to_contain_text("iom.txt")
    expect(answer.locator(".confidence")).to_have_text(re.compile(r"(High|Medium|Low) confidence"))
    # the highlight is a substring of the passage and the passage is shown whole
    passage = answer.locator(".answer").text_content() or ""
    assert (answer.locator("mark").text_content() or "") in passage
    # focus is back in the box, which is empty, so Send is disabled again
    expect(_box(page)).to_be_focused()
    expect(_box(page)).to_have_value("")
    expect(_send(page)).to_be_disabled()

    # "Other matches" opens with the keyboard and lists section + document for each
    others = answer.locator("details.others")
    if others.count():
        summary = others.locator("summary")
        summary.focus()
        page.keyboard.press("Enter")
        expect(others).to_have_attribute("open", "")
        expect(others.locator(".other").first.locator(".source")).to_contain_text("Section: ")
        expect(others.locator(".other").first.locator(".source")).to_contain_text(".txt")


def test_suggested_questions_come_from_sections_and_answer(chat: Page, server_url: str) -> None:
    page = chat
    chips = page.locator("#suggestions button")
    count = chips.count()
    assert 3 <= count <= 4
    sections_body = page.request.get(server_url + "/api/sections").json()
    headings = {s["section"] for d in sections_body["documents"] for s in d["sections"]}
    texts = chips.all_text_contents()
    for text in texts:
        topic = text.removeprefix("Tell me about ")
        assert text in headings or any(topic in h for h in headings), text

    chips.first.click()
    expect(page.locator("#log .bubble-user")).to_have_count(1)
    expect(page.locator("#log .bubble-user")).to_contain_text(texts[0])
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    expect(page.locator("#log .bubble-answer .answer-meta .source")).to_contain_text("iom.txt")
    expect(_box(page)).to_be_focused()


def test_not_found_shows_message_and_nearest_sections(chat: Page) -> None:
    page = chat
    _ask(page, NONSENSE)
    reply = _bot_replies(page)
    expect(reply).to_have_count(1)
    bubble = reply.locator(".bubble-notfound")
    expect(bubble).to_have_count(1)
    expect(bubble.locator(".notfound-message")).not_to_be_empty()
    expect(bubble.locator(".source")).to_have_count(0)
    expect(bubble.locator("mark")).to_have_count(0)
    # nearest sections, if any, are de-duplicated buttons that ask about the section
    buttons = bubble.locator("button[data-question]")
    labels = [t.strip().lower() for t in buttons.all_text_contents()]
    assert len(labels) == len(set(labels))
    if labels:
        buttons.first.click()
        expect(page.locator("#log .bubble-user")).to_have_count(2)
        expect(_bot_replies(page)).to_have_count(2)

    # small talk: a friendly message and no section buttons
    _ask(page, "hello")
    last = page.locator("#log .msg-bot").last
    expect(_bot_replies(page)).to_have_count(3 if labels else 2)
    expect(last.locator(".notfound-message")).to_contain_text("Hello")
    expect(last.locator("button")).to_have_count(0)


def test_not_found_alternatives_become_deduplicated_section_buttons(chat: Page) -> None:
    page = chat
    body = {
        "question": "x",
        "found": False,
        "answer": None,
        "section": None,
        "document": None,
        "highlight": None,
        "score": 0.1,
        "message": "I couldn't find that in the document.",
        "alternatives": [
            {"answer": "a", "section": "Who funds the IOM?", "document": "iom.txt", "score": 0.2},
            {"answer": "b", "section": "Who funds the IOM?", "document": "iom.txt", "score": 0.1},
            {"answer": "c", "section": "History of IOM", "document": "iom.txt", "score": 0.1},
        ],
    }
    page.route("**/api/chat", lambda route: route.fulfill(json=body))
    _ask(page, "who pays?")
    bubble = page.locator("#log .bubble-notfound")
    expect(bubble).to_contain_text("I couldn't find that in the document.")
    buttons = bubble.locator("button")
    expect(buttons).to_have_text(["Who funds the IOM?", "History of IOM"])
    page.unroute("**/api/chat")
    buttons.nth(1).click()
    expect(page.locator("#log .bubble-user").last).to_contain_text("Tell me about History of IOM")
    expect(_bot_replies(page)).to_have_count(2)


def test_enter_sends_and_shift_enter_adds_newline(chat: Page) -> None:
    page = chat
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/api/chat") else None)
    box = _box(page)
    box.click()
    page.keyboard.type("Where is the IOM")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("headquarters?")
    expect(box).to_have_value("Where is the IOM\nheadquarters?")
    expect(page.locator("#log > li")).to_have_count(0)
    assert posts == []

    page.keyboard.press("Enter")
    expect(_bot_replies(page)).to_have_count(1)
    expect(box).to_have_value("")
    assert len(posts) == 1
    assert posts[0].post_data_json == {"question": "Where is the IOM\nheadquarters?", "top_k": 3}


def test_send_button_disabled_while_empty_or_pending(chat: Page) -> None:
    page = chat
    send, box = _send(page), _box(page)
    expect(send).to_be_disabled()
    box.fill("   \n  ")
    expect(send).to_be_disabled()
    box.press("Enter")  # whitespace only: nothing is sent
    expect(page.locator("#log > li")).to_have_count(0)
    box.fill("Who funds the IOM?")
    expect(send).to_be_enabled()
    box.fill("")
    expect(send).to_be_disabled()

    held: list[Route] = []
    page.route("**/api/chat", lambda route: held.append(route))
    _ask(page, "Who funds the IOM?")
    expect(page.locator("#typing")).to_be_visible()
    box.fill("another question")
    expect(send).to_be_disabled()  # a reply is pending
    expect(page.locator("#suggestions button").first).to_be_disabled()
    for _ in range(500):  # let Playwright deliver the held request to the handler
        if held:
            break
        page.wait_for_timeout(10)
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    expect(page.locator("#typing")).to_be_hidden()
    expect(send).to_be_enabled()  # "another question" is still in the box


def test_server_error_shows_error_bubble_and_retry_resends(chat: Page) -> None:
    page = chat
    error = {"error": {"status": 500, "code": "internal_error", "message": "The index broke."}}
    body = json.dumps(error)
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(status=500, content_type="application/json", body=body),
    )
    _ask(page, HQ_QUESTION)
    bubble = page.locator("#log .bubble-error")
    expect(bubble).to_contain_text("The index broke.")
    expect(_box(page)).to_have_value(HQ_QUESTION)  # the question is not lost
    expect(_send(page)).to_be_enabled()  # and can be sent again from the box
    _shot(page, "desktop-error")

    page.unroute("**/api/chat")
    bubble.get_by_role("button", name=re.compile("Retry")).click()
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    expect(page.locator("#log .bubble-error")).to_have_count(0)
    expect(page.locator("#log .bubble-user")).to_have_count(1)
    expect(_box(page)).to_have_value("")


def test_server_down_shows_friendly_error_and_keeps_question(chat: Page) -> None:
    page = chat
    page.route("**/api/chat", lambda route: route.abort("connectionrefused"))
    _ask(page, "Who funds the IOM?")
    expect(page.locator("#log .bubble-error")).to_contain_text("can't reach the server")
    expect(_box(page)).to_have_value("Who funds the IOM?")
    expect(page.locator("#log .bubble-error button")).to_be_enabled()


def test_markup_in_question_and_reply_is_shown_as_text(chat: Page) -> None:
    page = chat
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    _ask(page, XSS)
    user = page.locator("#log .bubble-user .user-text")
    expect(user).to_have_text(XSS)
    expect(_bot_replies(page)).to_have_count(1)

    evil = "<img src=y onerror=alert(2)><script>alert(3)</script>"
    body = _fake_answer("Before " + evil + " after.", highlight=evil, section=evil, document=evil)
    body["alternatives"] = [{"answer": evil, "section": evil, "document": evil, "score": 0.3}]
    page.route("**/api/chat", lambda route: route.fulfill(json=body))
    _ask(page, "again")
    expect(page.locator("#log .bubble-answer mark")).to_have_text(evil)
    expect(page.locator("#log .bubble-answer .answer-meta .source").first).to_contain_text(evil)

    assert page.locator("#log img, #log script").count() == 0
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_phone_width_has_no_horizontal_scroll(chat: Page) -> None:
    page = chat
    page.set_viewport_size(PHONE)
    _ask(page, "What are the key milestones in IOM's history?")
    expect(_bot_replies(page)).to_have_count(1)
    long_word = "Supercalifragilistic" * 12
    url = "https://www.example.org/" + "a-very-long-path-segment/" * 12
    body = _fake_answer(f"{long_word} then {url} and the end.", highlight=url)
    page.route("**/api/chat", lambda route: route.fulfill(json=body))
    _ask(page, "x" * 300)
    expect(_bot_replies(page)).to_have_count(2)
    expect(page.locator("#log .bubble-answer mark").last).to_have_text(url)
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth,"
        " document.getElementById('log').scrollWidth]"
    )
    assert max(widths) <= PHONE["width"], widths


def test_reload_keeps_conversation_and_clear_empties_it(chat: Page) -> None:
    page = chat
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    page.reload()
    expect(page.locator("#log .bubble-user")).to_have_text(re.compile(re.escape(HQ_QUESTION)))
    expect(page.locator("#log .bubble-answer mark")).to_have_count(1)
    expect(page.locator("#log .bubble-answer .answer-meta .source")).to_contain_text("iom.txt")

    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#log > li")).to_have_count(0)
    expect(page.get_by_role("button", name="Clear")).to_be_disabled()
    expect(_box(page)).to_be_focused()
    page.reload()
    expect(page.locator("#suggestions button").first).to_be_visible()
    expect(page.locator("#log > li")).to_have_count(0)


def test_screenshots_light_and_dark(chat: Page) -> None:
    """Desktop and phone screenshots of a conversation, light and dark, for a person to judge.

    Also writes the two JPEGs of docs/screenshots/ (the top of the conversation on a desktop in
    light, its end on a phone in dark) to test-results/screenshots/: copy them over to refresh.
    """
    page = chat
    page.emulate_media(reduced_motion="reduce")
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    others = page.locator("#log details.others")
    if others.count():
        others.locator("summary").click()
    _ask(page, NONSENSE)
    expect(_bot_replies(page)).to_have_count(2)
    page.mouse.move(0, 0)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.evaluate("() => window.scrollTo(0, 0)")
            _shot(page, f"{device}-{scheme}-top")
            if (device, scheme) == ("desktop", "light"):
                _shot(page, "chat-desktop-light", jpeg=True)
            page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
            _shot(page, f"{device}-{scheme}")
            if (device, scheme) == ("phone", "dark"):
                _shot(page, "chat-phone-dark", jpeg=True)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize(("threshold", "band"), [(0.01, "High"), (0.9, "Low")])
def test_confidence_is_drawn_relative_to_the_servers_threshold(
    page: Page, server_url: str, threshold: float, band: str
) -> None:
    def health(route) -> None:  # type: ignore[no-untyped-def]
        body = {"status": "ok", "version": "x", "documents": 1, "passages": 1,
                "threshold": threshold}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/health", health)
    page.goto(server_url + "/")
    expect(page.locator("#corpus-stats")).to_be_visible()  # health has been read
    _ask(page, HQ_QUESTION)
    answer = page.locator("#log .bubble-answer")
    expect(answer.locator(".confidence-label")).to_have_text(f"{band} confidence")


# ---------------------------------------------------------------------------- issue 11: page


def _held(page: Page, pattern: str) -> list[Route]:
    """Requests matching ``pattern`` are held (not answered) until the test continues them."""
    held: list[Route] = []
    page.route(pattern, lambda route: held.append(route))
    return held


def _wait_for(page: Page, held: list[Route]) -> None:
    for _ in range(500):  # let Playwright deliver the held request to the handler
        if held:
            return
        page.wait_for_timeout(10)
    raise AssertionError("the request never came")


def _last_message_gap(page: Page) -> float:
    """How far the last message's bottom is above the composer's top (negative: hidden)."""
    return page.evaluate(
        "() => document.querySelector('.composer').getBoundingClientRect().top"
        " - document.querySelector('#log > li:last-child').getBoundingClientRect().bottom"
    )


def _settled_gap(page: Page) -> float:
    """The gap under the last message once the page has settled (up to 3 s), or the last seen."""
    gap = _last_message_gap(page)
    for _ in range(150):
        if gap >= 0:
            break
        page.wait_for_timeout(20)
        gap = _last_message_gap(page)
    return gap


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_reload_shows_the_last_answer_whole_above_the_composer(
    chat: Page, viewport: dict
) -> None:
    page = chat
    page.set_viewport_size(viewport)
    questions = [HQ_QUESTION, "Who funds the IOM?", "What are the key milestones in IOM's history?"]
    for n, question in enumerate(questions, start=1):
        _ask(page, question)
        expect(_bot_replies(page)).to_have_count(n)
    assert page.evaluate("() => document.documentElement.scrollHeight") > viewport["height"]

    # The suggestions arrive after the conversation is drawn and push it down: hold them.
    held = _held(page, "**/api/sections")
    page.reload()
    expect(_bot_replies(page)).to_have_count(len(questions))
    _wait_for(page, held)
    page.wait_for_timeout(100)
    held[0].continue_()
    expect(page.locator("#suggestions button").first).to_be_visible()
    gap = _settled_gap(page)
    assert gap >= 0, f"last answer hidden by {-gap:.0f} px behind the question box"
    last = page.locator("#log > li").last.bounding_box()
    header = page.locator(".app-header").bounding_box()
    assert last is not None and header is not None
    assert last["y"] + last["height"] > header["y"] + header["height"]  # on screen, not above

    # Scrolled up by the reader, the page stays where the reader put it as the box grows.
    page.mouse.move(viewport["width"] / 2, viewport["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(200)
    y = page.evaluate("() => window.scrollY")
    _box(page).fill("line\n" * 4)
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.scrollY") == y


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_growing_question_box_keeps_the_last_answer_in_sight(
    chat: Page, viewport: dict
) -> None:
    page = chat
    page.set_viewport_size(viewport)
    for n, question in enumerate([HQ_QUESTION, "Who funds the IOM?"], start=1):
        _ask(page, question)
        expect(_bot_replies(page)).to_have_count(n)
    assert _settled_gap(page) >= 0
    # a click elsewhere (Copy) stops following the conversation, not keeping the end in sight
    page.locator("#log .btn-copy").last.click()
    _box(page).focus()
    page.keyboard.insert_text("word " * 150)
    expect(page.locator("#counter")).to_be_hidden()  # 750 characters: no counter yet
    height = page.locator("#question").bounding_box()
    assert height is not None and height["height"] > 150  # the box did grow
    gap = _settled_gap(page)
    assert gap >= 0, f"last answer hidden by {-gap:.0f} px behind the question box"


def test_enter_after_an_error_asks_once_and_drops_the_error(chat: Page) -> None:
    page = chat
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.url.endswith("/api/chat") else None)
    error = {"error": {"status": 503, "code": "busy", "message": "Try again in a moment."}}
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(status=503, content_type="application/json",
                                    body=json.dumps(error)),
    )
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-error")).to_contain_text("Try again in a moment.")
    expect(_box(page)).to_have_value(HQ_QUESTION)
    page.unroute("**/api/chat")

    _box(page).press("Enter")
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    expect(page.locator("#log .bubble-error")).to_have_count(0)
    expect(page.locator("#log .bubble-user")).to_have_count(1)
    expect(page.locator("#log > li")).to_have_count(2)  # the question, then its answer
    assert len(posts) == 2  # the failed attempt and the one that answered
    page.reload()
    expect(page.locator("#log > li")).to_have_count(2)


def test_a_failed_question_asked_again_later_moves_to_the_end(chat: Page) -> None:
    page = chat
    page.route("**/api/chat", lambda route: route.abort("connectionrefused"))
    _ask(page, "Who funds the IOM?")
    expect(page.locator("#log .bubble-error")).to_have_count(1)
    page.unroute("**/api/chat")
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    expect(page.locator("#log .bubble-error")).to_have_count(1)  # still there, with Retry

    page.locator("#log .bubble-error").get_by_role("button", name=re.compile("Retry")).click()
    expect(page.locator("#log .bubble-answer")).to_have_count(2)
    expect(page.locator("#log .bubble-error")).to_have_count(0)
    users = page.locator("#log .bubble-user .user-text")
    expect(users).to_have_text([HQ_QUESTION, "Who funds the IOM?"])
    kinds = page.evaluate(
        "() => [...document.querySelectorAll('#log > li')].map(li => li.className)"
    )
    assert kinds == ["msg msg-user", "msg msg-bot", "msg msg-user", "msg msg-bot"]


def test_a_question_over_the_limit_is_counted_and_never_cut(chat: Page) -> None:
    page = chat
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.url.endswith("/api/chat") else None)
    box, send, counter = _box(page), _send(page), page.locator("#counter")
    box.fill("x" * 799)
    expect(counter).to_be_hidden()
    box.fill("x" * 800)
    expect(counter).to_be_visible()
    expect(counter).to_have_text("800 / 1000")

    box.fill("")
    box.focus()
    page.keyboard.insert_text("y" * 1001)  # what a paste does
    expect(box).to_have_value("y" * 1001)  # nothing cut
    expect(counter).to_contain_text("1001 / 1000")
    expect(counter).to_contain_text("Too long by 1 character")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(send).to_be_disabled()
    box.press("Enter")
    expect(page.locator("#status")).to_contain_text("Not sent")
    expect(box).to_have_value("y" * 1001)
    expect(page.locator("#log > li")).to_have_count(0)
    assert posts == []

    # surrounding space is not counted, as on the server
    box.fill("  " + "z" * 1000 + " \n")
    expect(counter).to_have_text("1000 / 1000")
    expect(box).not_to_have_attribute("aria-invalid", "true")
    expect(send).to_be_enabled()
    box.press("Enter")
    expect(_bot_replies(page)).to_have_count(1)
    assert len(posts) == 1 and posts[0].post_data_json["question"] == "z" * 1000
    expect(counter).to_be_hidden()


def test_every_control_on_a_phone_is_at_least_44px(chat: Page) -> None:
    page = chat
    page.set_viewport_size(PHONE)
    _ask(page, HQ_QUESTION)  # an answer with Copy and "Other matches"
    expect(page.locator("#log .bubble-answer details.others")).to_have_count(1)
    _ask(page, NONSENSE)  # not found: nearest-section chips
    expect(page.locator("#log .bubble-notfound .chip").first).to_be_visible()
    page.route("**/api/chat", lambda route: route.abort("connectionrefused"))
    _ask(page, "Who funds the IOM?")  # an error: Retry
    expect(page.locator("#log .bubble-error button")).to_be_visible()
    page.locator("#log details.others summary").click()

    sizes = page.evaluate(
        """() => [...document.querySelectorAll('button, summary, a[href], textarea, input')]
            .filter(e => e.getClientRects().length && !e.closest('.visually-hidden'))
            .map(e => {
              const r = e.getBoundingClientRect();
              return [e.id || e.className || e.tagName, e.textContent.trim().slice(0, 30),
                      Math.round(r.width), Math.round(r.height)];
            })"""
    )
    small = [s for s in sizes if s[2] < 44 or s[3] < 44]
    assert small == []
    kinds = {name for name, *_ in sizes}
    for expected in ("chip chip-suggestion", "chip", "btn btn-small btn-copy",
                     "btn btn-retry", "SUMMARY", "clear", "export", "send"):
        assert expected in kinds, (expected, kinds)


def _differing_pixels(page: Page, a: bytes, b: bytes) -> int:
    """How many pixels two PNG screenshots of one size differ in, decoded by the browser."""
    blank = page.context.new_page()
    try:
        return blank.evaluate(
            """async ([a, b]) => {
              const pixels = async (b64) => {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const image = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
                const canvas = new OffscreenCanvas(image.width, image.height);
                const ctx = canvas.getContext('2d');
                ctx.drawImage(image, 0, 0);
                return ctx.getImageData(0, 0, image.width, image.height).data;
              };
              const [pa, pb] = [await pixels(a), await pixels(b)];
              if (pa.length !== pb.length) return -1;
              let n = 0;
              for (let i = 0; i < pa.length; i += 4) {
                if (pa[i] !== pb[i] || pa[i + 1] !== pb[i + 1] || pa[i + 2] !== pb[i + 2]) n += 1;
              }
              return n;
            }""",
            [base64.b64encode(a).decode(), base64.b64encode(b).decode()],
        )
    finally:
        blank.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_header_and_composer_hide_what_scrolls_beneath_them(chat: Page, scheme: str) -> None:
    page = chat
    page.emulate_media(reduced_motion="reduce", color_scheme=scheme)
    for n, question in enumerate([HQ_QUESTION, "Who funds the IOM?", NONSENSE], start=1):
        _ask(page, question)
        expect(_bot_replies(page)).to_have_count(n)
    page.evaluate("() => document.activeElement.blur()")  # no focus ring: only what's beneath
    page.mouse.move(5, 400)
    root_height = page.evaluate("() => document.documentElement.scrollHeight")
    assert root_height > DESKTOP["height"] + 400

    def strip(selector: str, scroll_to: str) -> bytes:
        page.evaluate(f"() => window.scrollTo(0, {scroll_to})")
        page.wait_for_timeout(50)
        box = page.locator(selector).bounding_box()
        assert box is not None
        # without the scrollbar, whose thumb moves with the scroll
        box["width"] = min(box["width"], page.evaluate("() => document.body.clientWidth"))
        return page.screenshot(clip=box, animations="disabled")

    # The header over the page's top (nothing beneath) and over the middle of the chat;
    # the composer over the page's end (nothing beneath) and over the middle.
    middle = "document.documentElement.scrollHeight / 2 - innerHeight / 2"
    header = _differing_pixels(page, strip(".app-header", "0"), strip(".app-header", middle))
    assert header == 0
    end = "document.documentElement.scrollHeight"
    composer = _differing_pixels(page, strip(".composer", end), strip(".composer", middle))
    assert composer == 0


def _first_answer(page: Page, server_url: str, question: str) -> dict:
    body = page.request.post(server_url + "/api/chat", data={"question": question, "top_k": 3})
    assert body.ok
    return body.json()


def test_copy_button_copies_the_answer_its_section_and_document(
    chat: Page, server_url: str
) -> None:
    page = chat
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)
    _ask(page, HQ_QUESTION)
    copy = page.locator("#log .bubble-answer").get_by_role("button", name=re.compile("^Copy"))
    expect(copy).to_have_accessible_name(re.compile("section and document"))
    copy.click()
    expect(copy).to_have_text("Copied")
    expect(page.locator("#status")).to_contain_text("copied")
    d = _first_answer(page, server_url, HQ_QUESTION)
    expected = f"{d['answer']}\n\nSection: {d['section']}\nDocument: {d['document']}"
    assert page.evaluate("() => navigator.clipboard.readText()") == expected
    expect(copy).to_have_text("Copy", timeout=5000)
    expect(_box(page)).to_have_value("")


def test_copy_works_without_the_clipboard_api(chat: Page, server_url: str) -> None:
    """A page served over plain HTTP to another machine has no navigator.clipboard."""
    page = chat
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server_url)
    page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.reload()
    assert page.evaluate("() => navigator.clipboard === undefined")
    _ask(page, "Who funds the IOM?")
    copy = page.locator("#log .bubble-answer").get_by_role("button", name=re.compile("^Copy"))
    copy.focus()
    page.keyboard.press("Enter")
    expect(copy).to_have_text("Copied")
    expect(copy).to_be_focused()  # focus is given back after the hidden selection
    other = page.context.new_page()
    other.goto(server_url + "/api/health")
    d = _first_answer(page, server_url, "Who funds the IOM?")
    assert other.evaluate("() => navigator.clipboard.readText()") == (
        f"{d['answer']}\n\nSection: {d['section']}\nDocument: {d['document']}"
    )
    assert page.locator("textarea").count() == 1  # the hidden copy buffer is gone
    other.close()


def test_arrow_up_recalls_earlier_questions(chat: Page) -> None:
    page = chat
    box = _box(page)
    box.press("ArrowUp")  # nothing asked yet: nothing to recall
    expect(box).to_have_value("")
    first, second = "Who funds the IOM?", "Who is the director general?"
    for n, question in enumerate([first, second, second], start=1):
        _ask(page, question)
        expect(_bot_replies(page)).to_have_count(n)
    expect(box).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(box).to_have_value(second)
    assert box.evaluate("b => b.selectionStart") == len(second)  # caret at the end
    page.keyboard.press("ArrowUp")  # the repeated question is not recalled twice
    expect(box).to_have_value(first)
    page.keyboard.press("ArrowUp")  # the first stays
    expect(box).to_have_value(first)
    page.keyboard.press("ArrowDown")
    expect(box).to_have_value(second)
    page.keyboard.press("ArrowDown")
    expect(box).to_have_value("")

    page.keyboard.press("ArrowUp")
    page.keyboard.type(" Since when?")  # edited: the arrows move the caret again
    page.keyboard.press("ArrowUp")
    expect(box).to_have_value(second + " Since when?")
    box.fill("typed")
    page.keyboard.press("ArrowUp")
    expect(box).to_have_value("typed")
    page.keyboard.press("Enter")
    expect(_bot_replies(page)).to_have_count(4)
    page.keyboard.press("ArrowUp")
    expect(box).to_have_value("typed")


def _rendered_text(markdown: str) -> tuple[str, str]:
    """The Markdown rendered by a CommonMark parser: its HTML, and its text."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(markdown)
    parts: list[str] = []

    class Text(HTMLParser):
        def handle_data(self, data):  # type: ignore[no-untyped-def]
            parts.append(data)

    Text(convert_charrefs=True).feed(html)
    return html, "".join(parts)


def test_export_downloads_the_conversation_as_markdown(chat: Page, server_url: str) -> None:
    page = chat
    expect(page.get_by_role("button", name="Export")).to_be_disabled()
    milestones = "What are the key milestones in IOM's history?"
    _ask(page, milestones)
    expect(_bot_replies(page)).to_have_count(1)
    evil = "<img src=x onerror=alert(1)> *not bold* [link](http://x) &amp; `code`"
    body = _fake_answer(
        f"# {evil}\n1. numbered\n- dash\n> quote\n\nsecond paragraph",
        highlight="- dash", section=evil, document="a_b.txt",
    )
    page.route("**/api/chat", lambda route: route.fulfill(json=body))
    _ask(page, evil)
    expect(_bot_replies(page)).to_have_count(2)
    page.unroute("**/api/chat")

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    with page.expect_download() as info:
        page.get_by_role("button", name="Export").click()
    download = info.value
    name = download.suggested_filename
    assert re.fullmatch(r"qabot-conversation-\d{4}-\d\d-\d\d-\d{4}\.md", name)
    assert [u for u in requests if not u.startswith("blob:")] == []  # made in the page
    path = download.path()
    assert path is not None
    markdown = Path(path).read_text(encoding="utf-8")
    html, text = _rendered_text(markdown)

    assert markdown.startswith("# qabot conversation\n")
    assert "International Organization for Migration" in text  # the documents' title
    real = _first_answer(page, server_url, milestones)
    assert f"You\n{milestones}" in text
    assert real["answer"] in text
    assert html.count("<br />") >= real["answer"].count("\n")  # the list keeps its lines
    assert f"<strong>{real['highlight']}</strong>" in html
    assert f"Section: {real['section']} · iom.txt · " in text
    for alternative in real["alternatives"]:
        assert alternative["answer"] in text
    # markup from the user or the document reads as the same text, never as markup
    assert evil in text
    assert f"# {evil}\n1. numbered\n- dash\n> quote\nsecond paragraph" in text
    assert "<strong>- dash</strong>" in html
    assert f"Section: {evil} · a_b.txt" in text
    evil_turn = html.split("<h2>You</h2>")[2]
    for tag in ("<img", "<a ", "<em>not", "<code>", "<h1>", "<ol", "<ul", "<blockquote", "<hr"):
        assert tag not in evil_turn, tag


# ---------------------------------------------------------------------------- reader view


def _reader(page: Page):
    return page.locator("dialog#reader")


def _current(page: Page):
    return _reader(page).locator(".reader-current")


def _in_view(page: Page, selector: str) -> bool:
    """Whether the element is wholly inside the reader's scrolled body, as seen."""
    return page.evaluate(
        """(selector) => {
            const body = document.querySelector('#reader-body').getBoundingClientRect();
            const r = document.querySelector(selector).getBoundingClientRect();
            return r.top >= body.top - 1 && r.bottom <= body.bottom + 1;
        }""",
        selector,
    )


def test_show_in_document_opens_the_reader_at_the_answer(chat: Page, server_url: str) -> None:
    page = chat
    d = _first_answer(page, server_url, "Who funds the IOM?")
    _ask(page, "Who funds the IOM?")
    show = page.locator("#log .bubble-answer .answer-meta").get_by_role(
        "button", name=re.compile("^Show the answer in its document"))
    expect(show).to_have_accessible_name("Show the answer in its document, iom.txt")
    show.click()

    title = "International Organization for Migration (IOM) (iom.txt)"
    dialog = page.get_by_role("dialog", name=title)
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(f"Section: {d['section']}")
    current = _current(page)
    expect(current).to_have_count(1)
    expect(current).to_be_focused()
    expect(current).to_have_attribute("aria-current", "location")
    # the passage the answer names, and its best sentence marked inside it
    doc = page.request.get(server_url + "/api/documents/iom.txt").json()
    texts = {p["passage_id"]: p["text"] for s in doc["sections"] for p in s["passages"]}
    shown = (current.text_content() or "").removeprefix("The answer's passage: ")
    assert shown.replace("Best sentence: ", "") == texts[d["passage_id"]]
    mark = current.locator("mark")
    expect(mark).to_have_count(1)
    assert (mark.text_content() or "").removeprefix("Best sentence: ") == d["highlight"]
    # the whole document is there, section by section, and the passage is scrolled into view
    expect(_reader(page).locator(".reader-passage")).to_have_count(len(texts))
    expect(_reader(page).locator(".reader-section-title")).to_have_text(
        [s["section"] for s in doc["sections"]])
    assert page.evaluate("() => document.querySelector('#reader-body').scrollTop") > 0
    assert _in_view(page, "#reader .reader-current")
    assert page.evaluate("() => document.querySelector('#reader').scrollTop") == 0  # title kept
    expect(page.locator("#reader-title")).to_be_in_viewport()
    # only the dialog is reachable: the page behind it is inert
    expect(page.get_by_label("Your question")).not_to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('#reader').contains("
                         "document.activeElement) || document.activeElement === document.body")

    page.keyboard.press("Escape")
    expect(_reader(page)).not_to_be_visible()
    expect(show).to_be_focused()


def test_show_in_document_from_an_alternative_marks_its_passage(chat: Page,
                                                                server_url: str) -> None:
    page = chat
    d = _first_answer(page, server_url, HQ_QUESTION)
    alt = d["alternatives"][1]
    _ask(page, HQ_QUESTION)
    page.locator("#log details.others summary").click()
    show = page.locator("#log .other").nth(1).get_by_role(
        "button", name=re.compile("^Show this match in its document"))
    show.focus()
    page.keyboard.press("Enter")
    expect(_current(page)).to_be_focused()
    expect(_reader(page).locator("#reader-where")).to_have_text(f"Section: {alt['section']}")
    doc = page.request.get(server_url + "/api/documents/iom.txt").json()
    texts = {p["passage_id"]: p["text"] for s in doc["sections"] for p in s["passages"]}
    expect(_current(page)).to_have_text("The match's passage: " + texts[alt["passage_id"]])
    expect(_current(page).locator("mark")).to_have_count(0)  # no best sentence for a match
    assert _in_view(page, "#reader .reader-current")
    _reader(page).get_by_role("button", name="Close the document (Escape)").click()
    expect(_reader(page)).not_to_be_visible()
    expect(show).to_be_focused()

    # the answer's own button opens the same document at another passage, from the cache
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/documents/" in r.url else None)
    page.locator("#log .bubble-answer .answer-meta .btn-reader").first.click()
    expect(_current(page)).to_contain_text(d["highlight"])
    assert requests == []
    page.mouse.click(5, 5)  # beside the dialog, on its backdrop
    expect(_reader(page)).not_to_be_visible()


def test_the_reader_shows_the_documents_markup_as_text(chat: Page) -> None:
    page = chat
    evil = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>"
    body = _fake_answer(f"Before {evil} after.", document="a&b <x>.txt",
                        section="<i>Sec</i>", highlight=f"{evil} after.",
                        passage_id="a&b <x>.txt:10-40",
                        alternatives=[])
    doc = {"document": "a&b <x>.txt", "title": "<script>alert(1)</script>",
           "sections": [
               {"section": "<h1>Intro</h1>", "parents": ["<u>Top</u>"],
                "passages": [{"passage_id": "a&b <x>.txt:0-9", "text": "<p>First</p>",
                              "start": 0, "end": 9}]},
               {"section": "<i>Sec</i>", "parents": [],
                "passages": [{"passage_id": "a&b <x>.txt:10-40",
                              "text": f"Before {evil} after.", "start": 10, "end": 40}]},
           ]}
    urls: list[str] = []

    def document(route: Route) -> None:
        urls.append(route.request.url)
        route.fulfill(json=doc)

    page.route("**/api/chat", lambda route: route.fulfill(json=body))
    page.route("**/api/documents/**", document)
    _ask(page, "q")
    page.locator("#log .btn-reader").click()
    expect(_current(page)).to_be_focused()
    assert urls == [page.url.rstrip("/") + "/api/documents/a%26b%20%3Cx%3E.txt"]
    reader = _reader(page)
    expect(reader.locator("#reader-title")).to_have_text(
        "<script>alert(1)</script> (a&b <x>.txt)")
    expect(reader.locator(".reader-section-title")).to_have_text(["<h1>Intro</h1>",
                                                                  "<i>Sec</i>"])
    expect(reader.locator(".reader-parents")).to_have_text("<u>Top</u>")
    expect(_current(page).locator("mark")).to_contain_text(evil)
    assert reader.locator("img, b, script, h1, u, i").count() == 0
    assert page.title() != "pwned"


def test_the_reader_says_when_the_document_cannot_be_opened(chat: Page) -> None:
    page = chat
    page.route("**/api/documents/**", lambda route: route.fulfill(
        status=404, json={"error": {"status": 404, "code": "unknown_document",
                                    "message": 'no document named "iom.txt" in the corpus'}}))
    _ask(page, HQ_QUESTION)
    show = page.locator("#log .bubble-answer .answer-meta .btn-reader")
    show.click()
    expect(_reader(page).locator(".reader-error")).to_have_text(
        'Couldn\'t open the document: no document named "iom.txt" in the corpus')
    expect(_reader(page).get_by_role("button", name="Close the document (Escape)")).to_be_focused()
    page.keyboard.press("Escape")
    expect(_reader(page)).not_to_be_visible()
    expect(show).to_be_focused()


def test_a_reply_saved_without_a_passage_id_has_no_reader_button(chat: Page) -> None:
    page = chat
    page.route("**/api/chat", lambda route: route.fulfill(json=_fake_answer("Old reply.")))
    _ask(page, "q")
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    expect(page.locator("#log .btn-reader")).to_have_count(0)


def test_the_reader_on_a_phone_fills_the_screen_and_closes(chat: Page) -> None:
    page = chat
    page.set_viewport_size(PHONE)
    _ask(page, "Who funds the IOM?")
    show = page.locator("#log .bubble-answer .answer-meta .btn-reader")
    box = show.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44
    show.click()
    expect(_current(page)).to_be_focused()
    rect = _reader(page).bounding_box()
    assert rect and rect["width"] == PHONE["width"] and rect["height"] == PHONE["height"]
    assert _in_view(page, "#reader .reader-current")
    assert page.evaluate("() => document.querySelector('#reader-body').scrollWidth "
                         "<= document.querySelector('#reader-body').clientWidth")
    close = _reader(page).get_by_role("button", name="Close the document (Escape)")
    close_box = close.bounding_box()
    assert close_box and close_box["height"] >= 44
    close.click()
    expect(show).to_be_focused()


def test_screenshot_of_the_reader_view(chat: Page) -> None:
    """Writes reader-view.jpg (docs/screenshots/) to test-results/screenshots/ for a person
    to judge: a desktop in light, the reader open at an answer."""
    page = chat
    page.emulate_media(color_scheme="light", reduced_motion="reduce")
    _ask(page, "Who funds the IOM?")
    page.locator("#log details.others summary").click()
    page.mouse.move(0, 0)
    _shot(page, "answer-with-show-in-document")
    page.locator("#log .bubble-answer .answer-meta .btn-reader").click()
    expect(_current(page)).to_be_focused()
    page.mouse.move(0, 0)
    _shot(page, "reader-view", jpeg=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        _shot(page, f"reader-view-{scheme}")
    page.set_viewport_size(PHONE)
    _shot(page, "reader-view-phone-dark")


# ---------------------------------------------------------------------------- suggestions


@pytest.fixture(params=[CORPUS, *sorted((REPO / "benchmarks" / "corpora").iterdir())],
                ids=lambda p: p.name)
def any_corpus_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The page over the shipped corpus and over each benchmark corpus."""
    yield from _serve(request.param)


def test_every_suggested_question_on_the_welcome_screen_is_answered(
        page: Page, any_corpus_url: str) -> None:
    """A question the page offers must not be declined: the chips are read from the page
    (whatever it picks from the corpus's sections) and each is asked in turn."""
    page.goto(any_corpus_url + "/")
    chips = page.locator("#suggestions button")
    expect(chips.first).to_be_visible()
    questions = [chips.nth(i).get_attribute("data-question") for i in range(chips.count())]
    assert len(questions) >= 3, questions
    for n, question in enumerate(questions, start=1):
        page.locator("#suggestions button").nth(n - 1).click()
        expect(_bot_replies(page)).to_have_count(n)
        reply = _bot_replies(page).last
        assert reply.locator(".bubble-answer").count() == 1, (
            question, reply.text_content())
        expect(page.locator("#log .bubble-user").last).to_contain_text(question or "")


# ---------------------------------------------------------------------------- feedback


def _watch(page: Page) -> list[str]:
    """Console errors and page errors of ``page``, collected as they happen."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: (
        problems.append(f"console {msg.type}: {msg.text}")
        if msg.type == "error" and "Failed to load resource" not in msg.text else None))
    return problems


@pytest.fixture
def voting(page: Page, bot, tmp_path: Path) -> Iterator[tuple[Page, Path]]:  # type: ignore[no-untyped-def]
    """The chat page of an app that records feedback in a fresh log, and that log."""
    from qabot.server import create_app

    log = tmp_path / "votes.jsonl"
    problems = _watch(page)
    for url in _serve_app(create_app(bot=bot, feedback_path=log)):
        page.goto(url + "/")
        expect(page.locator("body.feedback-on")).to_have_count(1)
        yield page, log
    assert problems == [], problems


def _answer(page: Page):
    return page.locator("#log .bubble-answer").last


def _vote_button(page: Page, name: str):
    return _answer(page).get_by_role("button", name=name, exact=True)


YES = "Yes, the answer was right"
NO = "No, the answer was wrong"


def _votes(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text("ascii").splitlines()]


def test_vote_controls_are_hidden_when_the_server_records_no_feedback(chat: Page) -> None:
    page = chat
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    page.locator("#log details.others summary").click()
    expect(page.locator("#log .other").first).to_be_visible()
    assert page.evaluate("() => document.body.classList.contains('feedback-on')") is False
    for selector in ("button[data-vote]", "button[data-right]", ".feedback"):
        controls = page.locator(f"#log {selector}")
        assert controls.count() >= 1, selector
        for n in range(controls.count()):
            expect(controls.nth(n)).to_be_hidden()


@contextmanager
def _qabot_serve(folder: Path, *args: str) -> Iterator[str]:
    """The real ``qabot serve`` (waitress, worker processes) on a free port, until closed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("QABOT_PORT", "QABOT_HOST", "QABOT_INDEX_DIR", "QABOT_FEEDBACK"):
        env.pop(name, None)
    stderr = (folder / "serve.stderr").open("w", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "qabot.cli", "serve", "--corpus",
                                str(CORPUS), "--port", "0", *args], stdout=subprocess.PIPE,
                               stderr=stderr, text=True, env=env, cwd=folder)
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, (line, (folder / "serve.stderr").read_text())
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(match.group(1) + "api/health", timeout=5):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        yield match.group(1).rstrip("/")
    finally:
        process.terminate()
        process.wait(timeout=20)
        process.stdout.close()  # type: ignore[union-attr]
        stderr.close()


def _qabot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qabot.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)


def test_vote_in_the_browser_then_export_and_evaluate(page: Page, tmp_path: Path) -> None:
    """End to end: chat with a real ``qabot serve --workers 2 --feedback FILE``, vote an
    answer down and pick the right passage among its other matches, confirm another, vote a
    third down alone; then ``qabot feedback export`` and ``qabot eval`` on the gold set say
    the first is wrong (its right passage was second), the second right, and leave the third
    (marked for review) out unless asked."""
    log = tmp_path / "votes.jsonl"
    problems = _watch(page)
    with _qabot_serve(tmp_path, "--workers", "2", "--feedback", str(log)) as url:
        page.goto(url + "/")
        expect(page.locator("body.feedback-on")).to_have_count(1)

        _ask(page, HQ_QUESTION)
        expect(page.locator("#log .bubble-answer")).to_have_count(1)
        group = _answer(page).get_by_role("group", name="Was this the right answer?")
        expect(group).to_be_visible()
        yes, no = _vote_button(page, YES), _vote_button(page, NO)
        expect(yes).to_have_attribute("aria-pressed", "false")
        expect(no).to_have_attribute("aria-pressed", "false")
        no.click()
        expect(no).to_have_attribute("aria-pressed", "true")
        expect(yes).to_have_attribute("aria-pressed", "false")
        status = _answer(page).get_by_role("status")
        expect(status).to_have_text(re.compile(r"^Thanks! .*This was the right passage"))
        _answer(page).locator("details.others summary").click()
        right = _answer(page).locator(".other").first.locator("button[data-right]")
        expect(right).to_have_text("This was the right passage")
        expect(right).to_have_accessible_name(re.compile("^This was the right passage"))
        expect(right).to_have_attribute("aria-pressed", "false")
        right.click()
        expect(right).to_have_attribute("aria-pressed", "true")
        expect(no).to_have_attribute("aria-pressed", "true")
        expect(status).to_have_text(
            "Thanks! The passage you marked was recorded as the right one.")
        right.click()  # pressed already: nothing more is sent
        hq_reply = page.request.post(url + "/api/chat",
                                     data={"question": HQ_QUESTION, "top_k": 3}).json()

        _ask(page, "Who funds the IOM?")
        expect(page.locator("#log .bubble-answer")).to_have_count(2)
        _vote_button(page, YES).click()
        expect(_vote_button(page, YES)).to_have_attribute("aria-pressed", "true")
        expect(_answer(page).get_by_role("status")).to_have_text(
            "Thanks! Your vote was recorded.")

        _ask(page, "When was IOM founded?")
        expect(page.locator("#log .bubble-answer")).to_have_count(3)
        _vote_button(page, NO).focus()
        page.keyboard.press("Enter")  # by keyboard too
        expect(_vote_button(page, NO)).to_have_attribute("aria-pressed", "true")

        page.reload()  # the votes stay shown as given
        answers = page.locator("#log .bubble-answer")
        expect(answers).to_have_count(3)
        pressed = page.locator("#log button[aria-pressed='true']")
        expect(pressed).to_have_count(4)
        expect(answers.nth(0).locator(".other").first.locator("button[data-right]")
               ).to_have_attribute("aria-pressed", "true")
    assert problems == [], problems

    votes = _votes(log)
    assert [(v["question"], v["vote"], v["chosen_passage_id"]) for v in votes] == [
        (HQ_QUESTION, "down", None),
        (HQ_QUESTION, "down", hq_reply["alternatives"][0]["passage_id"]),
        ("Who funds the IOM?", "up", None),
        ("When was IOM founded?", "down", None)]
    assert all(v["passage_id"] == votes[0]["passage_id"] for v in votes[:2])
    assert votes[0]["passage_id"] == hq_reply["passage_id"]

    gold = tmp_path / "gold.jsonl"
    exported = _qabot("feedback", "export", log, "-o", gold, "--corpus", CORPUS)
    assert exported.returncode == 0, exported.stderr
    assert "3 items from 4 votes (2 answerable, 1 candidate unanswerable; 1 marked for " \
           "review)" in exported.stderr
    evaluated = _qabot("eval", gold, "--corpus", CORPUS, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert (report["n"], report["answer_accuracy"], report["recall_at_k"]) == (2, 0.5, 1.0)
    (failure,) = report["failures"]
    assert (failure["question"], failure["found"], failure["rank"]) == (HQ_QUESTION, True, 2)
    with_review = json.loads(_qabot("eval", gold, "--corpus", CORPUS, "--json",
                                    "--include-review").stdout)
    assert (with_review["n"], with_review["rejection_accuracy"]) == (3, 0.0)


def test_a_vote_that_fails_says_why_as_text(voting: tuple[Page, Path]) -> None:
    page, log = voting
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    message = "the feedback log is full <b>so</b> nothing was recorded"
    page.route("**/api/feedback", lambda route: route.fulfill(
        status=507, content_type="application/json",
        body=json.dumps({"error": {"status": 507, "code": "feedback_full",
                                   "message": message}})))
    _vote_button(page, YES).click()
    status = _answer(page).get_by_role("status")
    expect(status).to_have_text(f"Couldn't record your vote: {message}")
    expect(status).to_have_class(re.compile("feedback-error"))
    expect(status.locator("b")).to_have_count(0)
    expect(_vote_button(page, YES)).to_have_attribute("aria-pressed", "false")
    expect(_vote_button(page, YES)).to_be_enabled()
    page.unroute("**/api/feedback")
    page.route("**/api/feedback", lambda route: route.abort("connectionrefused"))
    _vote_button(page, NO).click()
    expect(status).to_have_text("Couldn't record your vote: I can't reach the server right now.")
    page.unroute("**/api/feedback")
    _vote_button(page, NO).click()  # the server back: it goes through, the error is gone
    expect(status).to_have_class(re.compile(r"^(?!.*feedback-error)"))
    expect(_vote_button(page, NO)).to_have_attribute("aria-pressed", "true")
    assert [v["vote"] for v in _votes(log)] == ["down"]


def test_vote_controls_on_a_phone_are_44px_and_do_not_scroll_sideways(
        voting: tuple[Page, Path]) -> None:
    page, _ = voting
    page.set_viewport_size(PHONE)
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    _answer(page).locator("details.others summary").click()
    controls = page.locator("#log button[data-vote], #log button[data-right]")
    assert controls.count() >= 3
    for n in range(controls.count()):
        box = controls.nth(n).bounding_box()
        assert box and box["width"] >= 44 and box["height"] >= 44, (n, box)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_screenshot_of_the_vote_controls(voting: tuple[Page, Path]) -> None:
    """Writes feedback.png (docs/screenshots/) to test-results/screenshots/ for a person to
    judge: an answer voted down with the right passage marked among its other matches."""
    page, _ = voting
    page.set_viewport_size({"width": 1280, "height": 1080})  # the question and all of it
    page.emulate_media(color_scheme="light", reduced_motion="reduce")
    _ask(page, HQ_QUESTION)
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    _vote_button(page, NO).click()
    _answer(page).locator("details.others summary").click()
    right = _answer(page).locator(".other").first.locator("button[data-right]")
    right.click()
    expect(right).to_have_attribute("aria-pressed", "true")
    page.mouse.move(0, 0)
    _shot(page, "feedback")
    page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    _shot(page, "feedback-dark")


# ---------------------------------------------------------------------------- cut lists

CROPS = ("barley", "wheat", "rye", "oats", "millet", "sorghum", "maize", "rice", "quinoa",
         "lentils", "chickpeas", "soybeans", "peanuts", "cotton", "flax", "saffron", "hops",
         "tea", "coffee", "cocoa", "vanilla", "pepper", "ginger", "olives", "grapes", "figs",
         "dates", "almonds", "walnuts", "hazelnuts")


@pytest.fixture
def long_list_url(tmp_path: Path) -> Iterator[str]:
    """A document whose one section is a list far longer than an answer shows."""
    items = "\n".join(f"- The valley of {name.title()}dale grows {crop} on its terraces."
                      for name, crop in zip(("ash", "birch", "cedar", "dogwood", "elm", "fir",
                                             "gum", "hazel", "ivy", "juniper", "kauri",
                                             "larch", "maple", "nutmeg", "oak", "pine",
                                             "quince", "rowan", "spruce", "teak", "umbrella",
                                             "vine", "willow", "yew", "zelkova", "alder",
                                             "beech", "cherry", "damson", "ebony"),
                                            CROPS, strict=True))
    (tmp_path / "valleys.md").write_text(
        f"# Valleys\n\n## What each valley grows\n\n{items}\n", encoding="utf-8")
    yield from _serve(tmp_path)


def test_a_cut_list_says_how_many_items_it_leaves_out(page: Page, long_list_url: str) -> None:
    """Issue 11: an answer from a long list shows how many items are not shown, before and
    after, as text; the reader view has them all."""
    page.goto(long_list_url + "/")
    _ask(page, "Which valley grows saffron?")
    answer = page.locator("#log .bubble-answer")
    expect(answer).to_have_count(1)
    expect(answer.locator("mark")).to_contain_text("saffron")
    lines = [line.strip() for line in (answer.locator(".answer").inner_text()).split("\n")
             if line.strip()]
    earlier = re.fullmatch(r"… (\d+) earlier items?", lines[0])
    later = re.fullmatch(r"… and (\d+) more", lines[-1])
    assert earlier and later, lines
    shown = [line for line in lines[1:-1] if "grows" in line]
    assert int(earlier.group(1)) + len(shown) + int(later.group(1)) == len(CROPS)
    page.locator("#log .bubble-answer .answer-meta").get_by_role(
        "button", name=re.compile("^Show the answer in its document")).click()
    expect(_reader(page).locator(".reader-passage")).to_have_count(len(CROPS))


# ---------------------------------------------------------------------------- follow-ups


def _asked(page: Page, question: str) -> dict:
    """Ask ``question`` and return the JSON body the page posted for it."""
    with page.expect_request("**/api/chat") as request:
        _ask(page, question)
    return request.value.post_data_json


def test_a_followup_is_sent_with_the_last_questions_and_says_what_it_answered(
        chat: Page) -> None:
    page = chat
    first = _asked(page, HQ_QUESTION)
    assert "context" not in first  # nothing before it: the request is as it always was
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    expect(page.locator("#log .resolved")).to_have_count(0)

    followup = _asked(page, "Who is in charge of it?")
    assert followup["context"] == [HQ_QUESTION]
    expect(_bot_replies(page)).to_have_count(2)
    resolved = _bot_replies(page).nth(1).locator(".resolved")
    expect(resolved).to_have_text(re.compile(r"^Answered as: .*headquarters", re.IGNORECASE))
    answered_as = (resolved.text_content() or "").removeprefix("Answered as: ")

    # the context holds the last two questions, each as it was answered
    third = _asked(page, "How is IOM funded?")
    assert third["context"] == [HQ_QUESTION, answered_as]
    expect(_bot_replies(page)).to_have_count(3)
    expect(_bot_replies(page).nth(2).locator(".resolved")).to_have_count(0)  # self-contained
    _bot_replies(page).nth(1).scroll_into_view_if_needed()
    _shot(page, "followup")
    fourth = _asked(page, "Where is the IOM headquarters located?")
    assert fourth["context"] == [answered_as, "How is IOM funded?"]
    expect(_bot_replies(page)).to_have_count(4)

    # a reload keeps the conversation, so the context too; Clear empties both
    page.reload()
    expect(_bot_replies(page).nth(1).locator(".resolved")).to_have_text(
        f"Answered as: {answered_as}")
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#log > li")).to_have_count(0)
    assert "context" not in _asked(page, "Who is in charge of it?")
    expect(_bot_replies(page)).to_have_count(1)
    expect(page.locator("#log .resolved")).to_have_count(0)


def test_the_answered_question_is_shown_as_text(chat: Page) -> None:
    page = chat
    body = _fake_answer("An answer.", resolved_question=XSS)
    page.route("**/api/chat", lambda route: route.fulfill(json=body))
    _ask(page, "And it?")
    expect(page.locator("#log .resolved")).to_have_text(f"Answered as: {XSS}")
    expect(page.locator("#log img")).to_have_count(0)
    notfound = {**body, "found": False, "answer": None, "section": None, "document": None,
                "message": "Not covered."}
    page.unroute("**/api/chat")
    page.route("**/api/chat", lambda route: route.fulfill(json=notfound))
    _ask(page, "And them?")
    expect(page.locator("#log .bubble-notfound .resolved")).to_have_text(f"Answered as: {XSS}")
    page.unroute("**/api/chat")
    # the exported conversation says it too, as text
    with page.expect_download() as info:
        page.get_by_role("button", name="Export").click()
    path = info.value.path()
    assert path is not None
    html, text = _rendered_text(Path(path).read_text(encoding="utf-8"))
    assert text.count(f"Answered as: {XSS}") == 2
    assert "<img" not in html


def test_a_vote_on_a_followup_records_the_question_it_was_answered_as(
        voting: tuple[Page, Path]) -> None:
    """The exported gold item must stand alone: a follow-up's vote carries the question
    the bot answered, not the words that needed the conversation."""
    page, log = voting
    _ask(page, "Who funds the IOM?")
    expect(page.locator("#log .bubble-answer")).to_have_count(1)
    _ask(page, "How big is its budget?")
    expect(page.locator("#log .bubble-answer")).to_have_count(2)
    resolved = _answer(page).locator(".resolved")
    expect(resolved).to_have_text(re.compile(r"^Answered as: "))
    answered_as = (resolved.text_content() or "").removeprefix("Answered as: ")
    _vote_button(page, YES).click()
    expect(_vote_button(page, YES)).to_have_attribute("aria-pressed", "true")
    (vote,) = _votes(log)
    assert vote["question"] == answered_as != "How big is its budget?"
