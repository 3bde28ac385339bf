"""What docs/reliability.md promises about the HTTP API, each promise checked here.

* Any JSON the parser accepts, lone surrogates included, is answered 200 or 400, never 500.
* A reply is never invalid JSON: no NaN/Infinity, no lone surrogate.
* The ``ChatRequest`` schema of /api/openapi.json and the server accept and refuse exactly
  the same bodies (a property test here, and schemathesis against a live server).
* Against a live ``qabot serve``: waitress's own errors carry the JSON error shape and the
  security headers; a body over the limit is refused from its Content-Length before it is
  sent, and a chunked one as soon as it passes the limit; a bounded loopback load gives 0
  errors with flat memory.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qabot import QABot
from qabot.answer import Answer
from qabot.server import MAX_BODY_BYTES, SECURITY_HEADERS, create_app, openapi_spec

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
HQ = "Where is the IOM headquarters?"


def _schema(name: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": openapi_spec()["components"],
        "$ref": f"#/components/schemas/{name}",
    }


def _strict_json(text: str) -> Any:
    """Parse ``text`` as strict JSON: NaN, Infinity and lone surrogates are refused."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} in a reply")
    value = json.loads(text, parse_constant=refuse)
    text.encode("utf-8")  # a lone surrogate cannot be encoded
    return value


# ----------------------------------------------------------------------------- surrogates

SURROGATE_BODIES = [
    '{"question": "\\ud800"}',
    '{"question": "\\udfff"}',
    '{"question": "Where is \\ud83d the IOM?"}',
    '{"question": "\\ude00\\ud83d"}',  # a pair in the wrong order is two lone surrogates
    '{"question": "hi", "\\ud800": 1}',
    '{"\\ud800": "x"}',
    '{"question": "hi", "top_k": "\\ud800"}',
    '{"question": "hi", "x": [{"y": ["\\udc00"]}]}',
    '["\\ud800"]',
    '"\\ud800"',
]


@pytest.mark.parametrize("body", SURROGATE_BODIES)
def test_a_lone_surrogate_is_a_400_never_a_500(client: FlaskClient, body: str) -> None:
    response = client.post("/api/chat", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data()
    error = _strict_json(response.get_data(as_text=True))["error"]
    assert error["code"] == "invalid_json" and "lone surrogate" in error["message"]


def test_utf8_encoded_surrogate_bytes_are_a_400(client: FlaskClient) -> None:
    # json.loads decodes bytes with "surrogatepass", so raw ED A0 80 would become U+D800.
    body = b'{"question": "\xed\xa0\x80"}'
    response = client.post("/api/chat", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_a_surrogate_pair_is_one_character_and_answered(client: FlaskClient) -> None:
    response = client.post("/api/chat", data='{"question": "IOM \\ud83d\\ude00 headquarters?"}',
                           content_type="application/json")
    assert response.status_code == 200
    assert _strict_json(response.get_data(as_text=True))["question"] == "IOM 😀 headquarters?"


# ----------------------------------------------------------------------------- never bad JSON


class NaNBot(QABot):
    """A bot whose scores went bad (a damaged index): the reply must not be invalid JSON."""

    def ask(self, question: str, top_k: int = 3) -> Any:
        return Answer(question, False, None, None, None, math.nan, None, (), "x")


class SurrogateBot(QABot):
    def ask(self, question: str, top_k: int = 3) -> Any:
        return Answer("a\ud800b", False, None, None, None, 0.0, None, (), "x")


def test_a_nan_score_is_a_logged_500_never_invalid_json(bot: QABot,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    client = create_app({"TESTING": True}, bot=NaNBot(bot.index, bot.documents)).test_client()
    response = client.post("/api/chat", json={"question": HQ})
    assert response.status_code == 500
    assert _strict_json(response.get_data(as_text=True))["error"]["code"] == "internal_error"
    assert any("unexpected error" in r.getMessage() for r in caplog.records)
    nan_threshold = QABot(bot.index, bot.documents, threshold=math.inf)
    response = create_app({"TESTING": True}, bot=nan_threshold).test_client().get("/api/health")
    assert response.status_code == 500
    _strict_json(response.get_data(as_text=True))


def test_a_lone_surrogate_never_reaches_a_reply(bot: QABot) -> None:
    client = create_app({"TESTING": True},
                        bot=SurrogateBot(bot.index, bot.documents)).test_client()
    response = client.post("/api/chat", json={"question": HQ})
    assert response.status_code == 200
    assert _strict_json(response.get_data(as_text=True))["question"] == "a\ufffdb"


# ----------------------------------------------------------------------------- schema == code


def test_a_whole_number_top_k_is_that_integer(client: FlaskClient, bot: QABot) -> None:
    for top_k in ("2.0", "2e0", "20e-1"):
        response = client.post("/api/chat", data=f'{{"question": "{HQ}", "top_k": {top_k}}}',
                               content_type="application/json")
        assert response.status_code == 200, top_k
        assert response.get_json() == bot.ask(HQ, 2).to_dict()


def test_the_length_limit_counts_the_question_as_sent(client: FlaskClient) -> None:
    schema = _schema("ChatRequest")
    for question, status in ((" " + "a" * 1000, 400), ("a" * 1000, 200),
                             (" " + "a" * 998 + " ", 200), ("\n" * 1000, 400)):
        response = client.post("/api/chat", json={"question": question})
        assert response.status_code == status
        valid = jsonschema.Draft202012Validator(schema).is_valid({"question": question})
        assert valid == (status == 200)


SPACE = st.sampled_from([" ", "\t", "\n", "\u00a0", "\u2003", "\x1c", "\ufeff", ""])
QUESTIONS = st.one_of(
    st.text(max_size=20),
    st.builds(lambda a, n, b: a + "x" * n + b, SPACE, st.integers(995, 1002), SPACE),
    st.lists(SPACE, max_size=5).map("".join),
    st.integers(), st.none(), st.booleans(), st.lists(st.text(max_size=3), max_size=2),
)
TOP_KS = st.one_of(
    st.integers(-2, 12), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, 10.0, 2.5, 0.0]),
    st.booleans(), st.none(), st.text(max_size=3),
)
REQUESTS = st.fixed_dictionaries({"question": QUESTIONS}, optional={"top_k": TOP_KS})
BODIES = st.one_of(
    REQUESTS, REQUESTS,
    st.fixed_dictionaries({}, optional={"question": QUESTIONS, "top_k": TOP_KS,
                                        "topk": st.integers(1, 3), "": st.text(max_size=2)}),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(body=BODIES)
def test_the_schema_and_the_server_accept_exactly_the_same_bodies(bot: QABot,
                                                                   body: dict[str, Any]) -> None:
    client = create_app({"TESTING": True}, bot=bot).test_client()
    response = client.post("/api/chat", json=body)
    valid = jsonschema.Draft202012Validator(_schema("ChatRequest")).is_valid(body)
    assert response.status_code == (200 if valid else 400), (body, response.get_json())


# ----------------------------------------------------------------------------- a live server


@dataclass
class Live:
    url: str
    host: str
    port: int
    process: subprocess.Popen[str]

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """``qabot serve --port 0`` on the shipped corpus, for the whole module, recording
    feedback (so that the fuzzing reaches POST /api/feedback's checks and writes)."""
    folder = tmp_path_factory.mktemp("live")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("QABOT_PORT", "QABOT_HOST", "QABOT_INDEX_DIR"):
        env.pop(name, None)
    stderr = (folder / "serve.stderr").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "qabot.cli", "serve", "--corpus", str(CORPUS), "--port", "0",
         "--threads", "4", "--feedback", str(folder / "votes.jsonl")],
        stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=folder)
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(process.stdout.readline()),  # type: ignore
                         daemon=True).start()
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            pytest.fail("qabot serve printed nothing in 60 s")
        match = re.search(r"(http://(127\.0\.0\.1):(\d+)/)", first)
        assert match, first
        live = Live(match.group(1), match.group(2), int(match.group(3)), process)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(live.url + "api/health", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield live
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]
        stderr.close()
    log = (folder / "serve.stderr").read_text("utf-8")
    assert "Traceback" not in log, log[-3000:]


def _exchange(live: Live, data: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the reply until the server closes; status, headers, body."""
    with socket.create_connection((live.host, live.port), timeout=timeout) as sock:
        sock.sendall(data)
        reply = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            reply += chunk
    return _parse_reply(reply)


def _parse_reply(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines[1:])}
    return status, headers, body


def _assert_json_error(status: int, headers: dict[str, str], body: bytes, expected: int,
                       code: str) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    for name, value in SECURITY_HEADERS.items():
        assert headers[name.lower()] == value, name
    assert headers["cache-control"] == "no-store"
    error = _strict_json(body.decode("utf-8"))
    jsonschema.validate(error, _schema("Error"))
    assert error["error"]["status"] == expected and error["error"]["code"] == code
    assert "Traceback" not in body.decode() and "/" not in error["error"]["message"]


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400, "bad_request"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n", 431,
     "headers_too_large"),
    (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
     "not_implemented"),
    (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Content-Length: 200000000\r\n\r\n", 413, "body_too_large"),
    (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
     b"Content-Length: 65537\r\n\r\n", 413, "body_too_large"),
], ids=["malformed", "huge-headers", "gzip", "200-MB-length", "one-byte-over"])
def test_the_wsgi_servers_own_errors_are_json_with_the_security_headers(
        live: Live, request_bytes: bytes, status: int, code: str) -> None:
    # No body is sent for the 413 cases: the reply must come from the Content-Length alone
    # (a server that waited for the body would time out here).
    _assert_json_error(*_exchange(live, request_bytes), status, code)


def test_a_body_of_exactly_the_limit_is_served_live(live: Live) -> None:
    body = json.dumps({"question": HQ}).encode()
    body += b" " * (MAX_BODY_BYTES - len(body))
    head = (f"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    status, headers, reply = _exchange(live, head + body)
    assert status == 200 and json.loads(reply)["found"] is True
    assert headers["cache-control"] == "no-store" and headers["x-frame-options"] == "DENY"


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(live: Live) -> None:
    """2 KiB past the limit, with no final chunk: only a server that counts as it reads
    answers (one that waits for the whole body would wait for ever)."""
    head = (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"400\r\n" + b" " * 1024 + b"\r\n"
    reply = b""
    with socket.create_connection((live.host, live.port), timeout=15) as sock:
        sock.sendall(head + chunk * (MAX_BODY_BYTES // 1024 + 2))
        try:
            while data := sock.recv(65536):
                reply += data
        except ConnectionResetError:
            pass
    _assert_json_error(*_parse_reply(reply), 413, "body_too_large")


def test_surrogates_and_bad_json_never_make_the_live_server_fail(live: Live) -> None:
    for body in [*SURROGATE_BODIES, '{"question": "hi", "top_k": NaN}', "[" * 50_000]:
        data = body.encode()
        head = (f"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
        status, headers, reply = _exchange(live, head + data)
        assert status == 400, reply
        _strict_json(reply.decode("utf-8"))


@pytest.mark.fuzz
def test_schemathesis_finds_no_server_error_and_no_schema_violation(live: Live,
                                                                    tmp_path: Path) -> None:
    """Every schemathesis check on every operation of /api/openapi.json, bounded in time."""
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("schemathesis is not installed: pip install -e '.[test]'")
        pytest.skip("schemathesis is not installed")
    # A schema-valid feedback body may name a passage the corpus does not have (no schema
    # can list them): the server's 422 unknown_passage is then the right answer.
    config = tmp_path / "schemathesis.toml"
    config.write_text('[checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "3xx", '
                      '"401", "403", "404", "409", "422", "429", "5xx"]\n', "utf-8")
    command = [sys.executable, "-c",
               "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
               "--config-file", str(config), "run", live.url + "api/openapi.json",
               "--checks", "all",
               "--max-examples", "500", "--workers", "2", "--request-timeout", "10",
               "--max-failures", "5", "--no-color"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240,
                            env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated and generated.group(1) == generated.group(2), output[-3000:]
    assert int(generated.group(1)) >= 800, output[-3000:]


def test_bounded_loopback_load_gives_no_error_and_flat_memory(live: Live) -> None:
    """16 keep-alive clients, 3,000 requests (mixed answers, refusals and pages): 0 errors,
    and the server's memory after the load within a few MB of after a warm-up."""
    questions = [HQ, "How is IOM funded?", "asdf qwerty zxcv", "hello", "Qu'est-ce que l'OIM ?"]
    clients, per_client = 16, 3000 // 16
    errors: list[str] = []
    lock = threading.Lock()

    def run(offset: int, count: int) -> None:
        conn = http.client.HTTPConnection(live.host, live.port, timeout=30)
        try:
            for i in range(count):
                n = offset + i
                if n % 10 == 9:
                    conn.request("POST", "/api/chat", body='{"question": ""}',
                                 headers={"Content-Type": "application/json"})
                    expected = 400
                elif n % 10 == 8:
                    conn.request("GET", "/api/health")
                    expected = 200
                else:
                    body = json.dumps({"question": questions[n % len(questions)]})
                    conn.request("POST", "/api/chat", body=body,
                                 headers={"Content-Type": "application/json"})
                    expected = 200
                response = conn.getresponse()
                data = response.read()
                if response.status != expected:
                    with lock:
                        errors.append(f"{response.status}: {data[:200]!r}")
                else:
                    json.loads(data)
        except Exception as exc:  # noqa: BLE001 - every failure is counted
            with lock:
                errors.append(repr(exc))
        finally:
            conn.close()

    def load(count: int) -> float:
        started = time.perf_counter()
        threads = [threading.Thread(target=run, args=(c * count, count), daemon=True)
                   for c in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)  # a hang guard, not a speed check
            assert not thread.is_alive(), "a client is stuck"
        return time.perf_counter() - started

    load(20)  # warm-up: every code path and thread has run once
    before = live.rss_kib()
    elapsed = load(per_client)
    after = live.rss_kib()
    print(f"load: {clients * per_client} requests in {elapsed:.1f} s, "
          f"RSS {before // 1024} -> {after // 1024} MB")
    assert errors == [], errors[:5]
    assert after - before < 20 * 1024, (before, after)


# ----------------------------------------------------------------------------- bad files


def _folder_with_bad_files(tmp_path: Path) -> Path:
    (tmp_path / "good.txt").write_text("Ports\n\nThe harbour opened in 1990.\n", "utf-8")
    (tmp_path / "blob.txt").write_bytes(b"\x89PNG\x00\x00\x00")
    (tmp_path / "latin.md").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "passwd.txt").symlink_to("/etc/passwd")
    return tmp_path


def test_health_lists_each_skipped_file_and_why_without_server_paths(tmp_path: Path) -> None:
    folder = _folder_with_bad_files(tmp_path)
    client = create_app({"TESTING": True, "CORPUS": str(folder)}).test_client()
    health = client.get("/api/health").get_json()
    jsonschema.validate(health, _schema("Health"))
    assert health["documents"] == 1
    assert {s["document"]: s["reason"] for s in health["skipped"]} == {
        "blob.txt": "looks like a binary file, not text",
        "latin.md": "not UTF-8 text (invalid byte at offset 3); save it as UTF-8",
        "passwd.txt": "a symbolic link to a file outside the corpus folder "
                      "(--follow-symlinks allows it)",
    }
    assert str(tmp_path) not in json.dumps(health) and "/etc" not in json.dumps(health)
    reply = client.post("/api/chat", json={"question": "root"}).get_json()
    assert "root:" not in json.dumps(reply)
    with pytest.raises(Exception, match="blob.txt: looks like a binary file"):
        create_app({"TESTING": True, "CORPUS": str(folder), "STRICT": True})


def test_serve_skips_with_one_warning_each_and_strict_refuses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import qabot.server
    from qabot.cli import main

    folder = _folder_with_bad_files(tmp_path)
    seen: dict[str, Any] = {}

    class FakeServer:
        url = "http://127.0.0.1:1/"

        def __init__(self, app: Any, **kwargs: Any) -> None:
            self.app = app

        def run(self) -> None:
            seen["health"] = self.app.test_client().get("/api/health").get_json()

    monkeypatch.setattr(qabot.server, "Server", FakeServer)
    result = CliRunner().invoke(main, ["serve", "--corpus", str(folder)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("qabot: warn")]
    assert len(warnings) == 3
    assert any("passwd.txt" in w and "/etc/passwd" in w for w in warnings)
    assert [s["document"] for s in seen["health"]["skipped"]] == ["blob.txt", "latin.md",
                                                                    "passwd.txt"]
    strict = CliRunner().invoke(main, ["serve", "--corpus", str(folder), "--strict"])
    assert strict.exit_code == 1 and strict.stderr.count("\n") == 1
    assert "blob.txt: looks like a binary file" in strict.stderr
    followed = CliRunner().invoke(main, ["sections", "--corpus", str(folder),
                                         "--follow-symlinks"])
    assert followed.exit_code == 0 and "passwd.txt" in followed.stdout


def test_every_test_docs_reliability_names_exists() -> None:
    """docs/reliability.md names the test behind each promise: each must exist."""
    doc = (REPO / "docs" / "reliability.md").read_text("utf-8")
    current = ""
    named = 0
    for match in re.finditer(r"(tests/test_\w+\.py)?::(test_\w+)", doc):
        current = match.group(1) or current
        source = (REPO / current).read_text("utf-8")
        assert f"def {match.group(2)}(" in source, f"{current}::{match.group(2)}"
        named += 1
    assert named >= 30
