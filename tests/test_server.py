"""The HTTP API (qabot/server.py) and `qabot serve`: endpoints, every bad request, headers,
the OpenAPI document, and a real waitress server in a subprocess."""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate as validate_openapi
from werkzeug.test import Client

from qabot import QABot, __version__
from qabot.cli import main
from qabot.documents import corpus_hash
from qabot.feedback import FeedbackError
from qabot.server import RequestLog, create_app, default_web_dir, openapi_spec

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"

HQ = "Where is the IOM headquarters?"
NONSENSE = "asdf qwerty zxcv"
QUESTIONS = [HQ, NONSENSE, "hello", "How is IOM funded?", "Qu'est-ce que l'OIM ?"]
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _chat(client: FlaskClient, body: Any) -> Any:
    return client.post("/api/chat", json=body)


def _schema(name: str) -> dict[str, Any]:
    """A JSON Schema for one component of the OpenAPI document, its $refs resolvable."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": openapi_spec()["components"],
        "$ref": f"#/components/schemas/{name}",
    }


# ----------------------------------------------------------------------------- endpoints


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("top_k", [None, 1, 10])
def test_chat_answers_exactly_like_the_bot(client: FlaskClient, bot: QABot, question: str,
                                           top_k: int | None) -> None:
    body: dict[str, Any] = {"question": question}
    if top_k is not None:
        body["top_k"] = top_k
    response = _chat(client, body)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    expected = bot.ask(question, top_k or 3).to_dict()
    assert response.get_json() == expected
    jsonschema.validate(response.get_json(), _schema("Answer"))


def test_chat_finds_the_headquarters(client: FlaskClient) -> None:
    answer = _chat(client, {"question": HQ}).get_json()
    assert answer["found"] is True
    assert "Geneva" in answer["answer"]
    assert answer["document"] == "iom.txt"


def test_chat_keeps_surrounding_space_out_and_accepts_the_limit(client: FlaskClient,
                                                                 bot: QABot) -> None:
    padded = _chat(client, {"question": f"  {HQ}\n"}).get_json()
    assert padded["question"] == HQ
    longest = "a" * 1000
    assert _chat(client, {"question": longest}).get_json() == bot.ask(longest).to_dict()
    # The limit counts the question as sent, like the schema's maxLength.
    padded = _chat(client, {"question": f" {longest[2:]} "})
    assert padded.status_code == 200
    assert padded.get_json()["question"] == longest[2:]


def test_chat_accepts_a_json_charset_and_json_suffix_types(client: FlaskClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = client.post("/api/chat", data=json.dumps({"question": HQ}),
                               content_type=content_type)
        assert response.status_code == 200, content_type


def test_health(client: FlaskClient, bot: QABot) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": __version__,
                                   "documents": len(bot.documents),
                                   "passages": len(bot.passages),
                                   "threshold": bot.threshold, "encoder": bot.encoder,
                                   "skipped": [], "feedback": False}
    assert bot.encoder == "static"  # the default
    jsonschema.validate(response.get_json(), _schema("Health"))


def test_sections(client: FlaskClient, bot: QABot) -> None:
    response = client.get("/api/sections")
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"documents": bot.sections()}
    assert body["documents"][0]["document"] == "iom.txt"
    jsonschema.validate(body, _schema("Sections"))


def test_document_gives_its_sections_and_passages(client: FlaskClient, bot: QABot) -> None:
    response = client.get("/api/documents/iom.txt")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body == bot.document("iom.txt")
    jsonschema.validate(body, _schema("Document"))
    # every passage id a reply gives is found in the document it names
    reply = _chat(client, {"question": HQ, "top_k": 5}).get_json()
    ids = {p["passage_id"] for s in body["sections"] for p in s["passages"]}
    assert reply["passage_id"] in ids
    assert {a["passage_id"] for a in reply["alternatives"]} <= ids


def test_document_names_in_a_folder_and_outside_it(tmp_path: Path) -> None:
    """A name is looked up among the loaded documents only: a file beside the corpus, a
    file of the corpus folder that was skipped, and every spelling of a path out of the
    folder are 404 in the one error shape, and their contents never appear."""
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("Ants\n\nAnts carry leaves.\n", "utf-8")
    (corpus / "sub" / "b.md").write_text("# Bees\n\nBees make honey.\n", "utf-8")
    (corpus / "c.bin").write_bytes(b"SECRET-INSIDE\x00\x01\x02")
    (tmp_path / "secret.txt").write_text("SECRET-OUTSIDE\n", "utf-8")
    client = create_app({"CORPUS": str(corpus), "TESTING": True}).test_client()

    for name in ["a.txt", "sub/b.md", "sub%2Fb.md"]:
        response = client.get(f"/api/documents/{name}")
        assert response.status_code == 200, name
        jsonschema.validate(response.get_json(), _schema("Document"))
    assert client.get("/api/documents/sub/b.md").get_json()["sections"][0]["section"] == "Bees"

    for path in ["/api/documents/secret.txt", "/api/documents/../secret.txt",
                 "/api/documents/..%2Fsecret.txt", "/api/documents/%2E%2E/secret.txt",
                 "/api/documents/sub/../../secret.txt", "/api/documents/c.bin",
                 f"/api/documents/{tmp_path / 'secret.txt'}",
                 f"/api/documents/{quote(str(tmp_path / 'secret.txt'), safe='')}",
                 "/api/documents/A.TXT", "/api/documents/a.txt/", "/api/documents/sub",
                 "/api/documents/a.txt%00", "/api/documents/%E2%80%AE"]:
        response = client.get(path)
        text = response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "SECRET" not in text, path
        code = response.get_json()["error"]["code"]
        _assert_error(response, 404, code, "")
        assert code in {"unknown_document", "not_found"}, path
    message = client.get("/api/documents/..%2Fsecret.txt").get_json()["error"]["message"]
    assert message == ('no document named "../secret.txt" in the corpus; GET /api/sections '
                       "lists them")


def test_page_and_its_files_are_served(client: FlaskClient) -> None:
    with client.get("/") as page:
        assert page.status_code == 200
        assert page.mimetype == "text/html"
        assert page.get_data() == (REPO / "web" / "index.html").read_bytes()
    for name in ("app.js", "style.css"):
        with client.get(f"/{name}") as response:
            assert response.status_code == 200, name
            assert response.get_data() == (REPO / "web" / name).read_bytes()


def test_web_dir_can_be_overridden_and_only_its_plain_files_are_served(
        tmp_path: Path, bot: QABot) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>", "utf-8")
    (tmp_path / "extra.css").write_text("body{}", "utf-8")
    (tmp_path / ".secret").write_text("key", "utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.js").write_text("1", "utf-8")
    client = create_app({"WEB_DIR": str(tmp_path)}, bot=bot).test_client()
    with client.get("/") as page, client.get("/extra.css") as css:
        assert page.get_data(as_text=True).startswith("<!doctype html>")
        assert css.get_data(as_text=True) == "body{}"
    for path in ("/.secret", "/sub", "/sub/deep.js", "/..%2fpyproject.toml", "/app.js"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"


def test_default_web_dir_holds_the_page() -> None:
    assert (default_web_dir() / "index.html").is_file()


def test_bot_is_built_once_from_the_corpus_setting() -> None:
    app = create_app({"CORPUS": str(CORPUS)})
    bot = app.extensions["qabot"]
    assert isinstance(bot, QABot)
    assert [d.name for d in bot.documents] == ["iom.txt"]


def test_debug_is_never_on(bot: QABot) -> None:
    app = create_app({"DEBUG": True}, bot=bot)
    assert app.debug is False
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024


# ----------------------------------------------------------------------------- bad requests

TOP_K_MSG = "top_k must be an integer from 1 to 10, got "
LENGTH_MSG = "question must be 1 to 1000 characters, got "

# (id, request keyword arguments, status, error code, text the message must contain)
BAD_REQUESTS = [
    ("no-content-type", {"data": '{"question": "hi"}'}, 415, "unsupported_media_type",
     "Content-Type: application/json, got none"),
    ("text-plain", {"data": '{"question": "hi"}', "content_type": "text/plain"}, 415,
     "unsupported_media_type", "got text/plain"),
    ("form", {"data": {"question": "hi"}}, 415, "unsupported_media_type",
     "got application/x-www-form-urlencoded"),
    ("malformed-json", {"data": '{"question": ', "content_type": "application/json"}, 400,
     "invalid_json", "not valid JSON: Expecting value (line 1, column 14)"),
    ("empty-body", {"data": "", "content_type": "application/json"}, 400, "invalid_json",
     "the body is empty"),
    ("nan", {"data": '{"question": "hi", "top_k": NaN}', "content_type": "application/json"},
     400, "invalid_json", "NaN is not a JSON value"),
    ("not-utf8", {"data": b'{"question": "\xff"}', "content_type": "application/json"}, 400,
     "invalid_json", "not UTF-8"),
    ("too-deep", {"data": "[" * 50_000, "content_type": "application/json"}, 400,
     "invalid_json", "nested too deeply"),
    ("array-body", {"json": ["hi"]}, 400, "invalid_body", "must be a JSON object"),
    ("string-body", {"json": "hi"}, 400, "invalid_body", 'got string "hi"'),
    ("null-body", {"data": "null", "content_type": "application/json"}, 400, "invalid_body",
     "got null"),
    ("missing-question", {"json": {}}, 400, "invalid_question", "question is required"),
    ("missing-question-with-top-k", {"json": {"top_k": 3}}, 400, "invalid_question",
     "question is required"),
    ("null-question", {"json": {"question": None}}, 400, "invalid_question",
     "question must be a string, got null"),
    ("number-question", {"json": {"question": 42}}, 400, "invalid_question",
     "question must be a string, got number 42"),
    ("array-question", {"json": {"question": ["hi"]}}, 400, "invalid_question",
     "question must be a string, got array"),
    ("empty-question", {"json": {"question": ""}}, 400, "invalid_question", LENGTH_MSG + "0"),
    ("blank-question", {"json": {"question": " \n\t "}}, 400, "invalid_question",
     LENGTH_MSG + "0"),
    ("long-question", {"json": {"question": "a" * 1001}}, 400, "invalid_question",
     LENGTH_MSG + "1001"),
    ("long-padded-question", {"json": {"question": " " + "a" * 1000}}, 400, "invalid_question",
     LENGTH_MSG + "1001"),
    ("lone-surrogate", {"data": '{"question": "\\ud800"}', "content_type": "application/json"},
     400, "invalid_json", "lone surrogate \\ud800"),
    ("top-k-zero", {"json": {"question": "hi", "top_k": 0}}, 400, "invalid_top_k",
     TOP_K_MSG + "0"),
    ("top-k-eleven", {"json": {"question": "hi", "top_k": 11}}, 400, "invalid_top_k",
     TOP_K_MSG + "11"),
    ("top-k-negative", {"json": {"question": "hi", "top_k": -1}}, 400, "invalid_top_k",
     TOP_K_MSG + "-1"),
    ("top-k-true", {"json": {"question": "hi", "top_k": True}}, 400, "invalid_top_k",
     TOP_K_MSG + "boolean true"),
    ("top-k-false", {"json": {"question": "hi", "top_k": False}}, 400, "invalid_top_k",
     TOP_K_MSG + "boolean false"),
    ("top-k-float", {"json": {"question": "hi", "top_k": 1.5}}, 400, "invalid_top_k",
     TOP_K_MSG + "number 1.5"),
    ("top-k-whole-float-over", {"json": {"question": "hi", "top_k": 11.0}}, 400,
     "invalid_top_k", TOP_K_MSG + "11"),
    ("top-k-string", {"json": {"question": "hi", "top_k": "3"}}, 400, "invalid_top_k",
     TOP_K_MSG + 'string "3"'),
    ("top-k-null", {"json": {"question": "hi", "top_k": None}}, 400, "invalid_top_k",
     TOP_K_MSG + "null"),
    ("unknown-field", {"json": {"question": "hi", "topk": 3}}, 400, "unknown_field",
     'unknown field "topk": the allowed fields are question, top_k'),
    ("unknown-fields", {"json": {"question": "hi", "a": 1, "b": 2}}, 400, "unknown_field",
     'unknown fields "a", "b"'),
    ("over-64-kib", {"json": {"question": "a" * 70_000}}, 413, "body_too_large",
     "larger than the limit of 65536 bytes"),
    ("over-64-kib-chunked", {
        "input_stream": io.BytesIO(json.dumps({"question": "a" * 70_000}).encode()),
        "content_type": "application/json",
        "headers": {"Transfer-Encoding": "chunked"},
        "environ_overrides": {"wsgi.input_terminated": True},
    }, 413, "body_too_large", "65536 bytes"),
]


@pytest.mark.parametrize(("kwargs", "status", "code", "message"),
                         [case[1:] for case in BAD_REQUESTS],
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_chat_request(client: FlaskClient, kwargs: dict[str, Any], status: int, code: str,
                          message: str) -> None:
    if "input_stream" in kwargs:
        kwargs["input_stream"].seek(0)
    response = client.post("/api/chat", **kwargs)
    _assert_error(response, status, code, message)


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_of_exactly_64_kib_is_accepted(client: FlaskClient, bot: QABot,
                                              chunked: bool) -> None:
    body = json.dumps({"question": HQ}).encode()
    body += b" " * (64 * 1024 - len(body))
    kwargs: dict[str, Any] = {"input_stream": io.BytesIO(body)}
    if chunked:
        kwargs.update(headers={"Transfer-Encoding": "chunked"},
                      environ_overrides={"wsgi.input_terminated": True})
    else:
        kwargs.update(content_length=len(body))
    response = client.post("/api/chat", content_type="application/json", **kwargs)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == bot.ask(HQ).to_dict()


@pytest.mark.parametrize(("method", "path", "status", "code", "message"), [
    ("GET", "/api/nope", 404, "not_found", 'no such path: "/api/nope"'),
    ("GET", "/nope.js", 404, "not_found", 'no such path: "/nope.js"'),
    ("GET", "/.hidden", 404, "not_found", "no such path"),
    ("GET", "/a/b", 404, "not_found", "no such path"),
    ("GET", "/api/chat", 405, "method_not_allowed", 'GET is not allowed on "/api/chat"'),
    ("DELETE", "/api/chat", 405, "method_not_allowed", "allowed: "),
    ("POST", "/api/health", 405, "method_not_allowed", "allowed: "),
    ("PUT", "/", 405, "method_not_allowed", "allowed: "),
])
def test_bad_path_or_method(client: FlaskClient, method: str, path: str, status: int, code: str,
                            message: str) -> None:
    response = client.open(path, method=method)
    _assert_error(response, status, code, message)
    if status == 405:
        allowed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert ("POST" in allowed) == (path == "/api/chat")
        assert ("GET" in allowed) == (path != "/api/chat")


def _assert_error(response: Any, status: int, code: str, message: str) -> None:
    body = response.get_json()
    assert response.status_code == status, body
    assert response.mimetype == "application/json"
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert message in body["error"]["message"]
    assert response.headers["Cache-Control"] == "no-store"
    jsonschema.validate(body, _schema("Error"))
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower() and "Traceback" not in text


class ExplodingBot(QABot):
    """A bot whose ask fails the way a bug would."""

    def ask(self, question: str, top_k: int = 3) -> Any:
        raise RuntimeError("secret detail")


def test_unexpected_error_is_a_generic_500_and_logged(
        bot: QABot, caplog: pytest.LogCaptureFixture) -> None:
    client = create_app({"TESTING": True}, bot=ExplodingBot(bot.index, bot.documents)
                        ).test_client()
    with caplog.at_level(logging.ERROR):
        response = _chat(client, {"question": HQ})
    _assert_error(response, 500, "internal_error", "unexpected error")
    assert "secret detail" not in response.get_data(as_text=True)
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in caplog.records)


# ----------------------------------------------------------------------------- headers


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/", None),
    ("GET", "/app.js", None),
    ("GET", "/api/health", None),
    ("GET", "/api/openapi.json", None),
    ("POST", "/api/chat", {"question": HQ}),
    ("POST", "/api/chat", {"question": ""}),
    ("GET", "/missing", None),
    ("OPTIONS", "/api/chat", None),
])
def test_security_headers_on_every_response(client: FlaskClient, method: str, path: str,
                                            body: Any) -> None:
    with client.open(path, method=method, json=body) as response:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        is_api = response.mimetype == "application/json" or path.startswith("/api/")
        assert (response.headers.get("Cache-Control") == "no-store") == is_api


# ----------------------------------------------------------------------------- OpenAPI


def test_openapi_document_is_valid_and_served(client: FlaskClient) -> None:
    served = client.get("/api/openapi.json").get_json()
    assert served == openapi_spec()
    assert served["openapi"].startswith("3.1")
    assert served["info"]["version"] == __version__
    validate_openapi(served)


def test_openapi_documents_every_route_and_method(app: Flask) -> None:
    paths = openapi_spec()["paths"]
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        assert path in paths, f"{rule.rule} is not in the OpenAPI document"
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        assert methods == set(paths[path]), rule.rule
    assert len(paths) == len(list(app.url_map.iter_rules()))


def test_openapi_chat_request_schema_agrees_with_the_server(client: FlaskClient) -> None:
    schema = _schema("ChatRequest")
    jsonschema.validate({"question": HQ, "top_k": 10}, schema)
    for kwargs, status, *_ in (case[1:] for case in BAD_REQUESTS):
        body = kwargs.get("json")
        if status == 400 and isinstance(body, dict):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(body, schema)


@pytest.mark.parametrize("question", [
    "\x1f", "\x1c ", "\x85", "\u2007", "\u3000\t", "\ufeff", "a\x1f", "\u200b",
])
def test_schema_and_server_agree_on_what_is_blank(client: FlaskClient, question: str) -> None:
    """Python's idea of whitespace (what the server strips) and the schema's pattern differ
    from ECMA-262's \\S on a few characters; the schema spells Python's out."""
    valid = jsonschema.Draft202012Validator(_schema("ChatRequest")).is_valid(
        {"question": question})
    response = _chat(client, {"question": question})
    assert response.status_code == (200 if valid else 400), (question, valid)


# ----------------------------------------------------------------- the same JSON everywhere


@pytest.mark.parametrize("question", [HQ, NONSENSE])
def test_python_cli_and_http_give_the_same_json(client: FlaskClient, bot: QABot,
                                                question: str) -> None:
    python = bot.ask(question, 4).to_dict()
    http = _chat(client, {"question": question, "top_k": 4}).get_json()
    result = CliRunner().invoke(main, ["ask", "--json", "--top-k", "4", "--corpus", str(CORPUS),
                                       question])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    assert python == http == cli


# ----------------------------------------------------------------------------- request log


def test_request_log_writes_one_escaped_line_per_request(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(RequestLog(app))
    with caplog.at_level(logging.INFO, logger="qabot.access"):
        client.get("/api/health").close()
        client.post("/api/chat", json={"question": ""}).close()
        client.get("/x%0Afake 200 line").close()
    lines = [r.getMessage() for r in caplog.records if r.name == "qabot.access"]
    assert len(lines) == 3
    assert re.fullmatch(r"GET /api/health 200 \d+\.\d ms", lines[0])
    assert re.fullmatch(r"POST /api/chat 400 \d+\.\d ms", lines[1])
    assert re.fullmatch(r"GET /x%0Afake%20200%20line 404 \d+\.\d ms", lines[2])


# ----------------------------------------------------------------------------- qabot serve


def test_serve_help_names_every_option_and_variable() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for text in ("--corpus", "--host", "--port", "--threads", "QABOT_CORPUS", "QABOT_HOST",
                 "QABOT_PORT", "127.0.0.1", "8000"):
        assert text in result.output, text


def test_serve_refuses_a_bad_corpus_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--corpus", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "qabot: error:" in result.stderr and "no such file or folder" in result.stderr


def test_serve_reports_a_busy_port_in_one_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--corpus", str(CORPUS), "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert f"qabot: error: cannot listen on 127.0.0.1:{port}: " in result.stderr
    assert "in use" in result.stderr.lower()


@dataclass
class Served:
    """A `qabot serve` subprocess: its URL, the process, and the file its stderr goes to."""

    url: str
    process: subprocess.Popen[str]
    stderr: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as response:
            return json.load(response)

    def ask(self, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(self.url + "api/chat", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


@contextmanager
def serving(tmp_path: Path, *args: str) -> Iterator[Served]:
    """Start `python -m qabot.cli serve --port 0`, wait for /api/health, stop it at the end."""
    stderr_path = tmp_path / "serve.stderr"
    env = {**os.environ, "QABOT_CORPUS": str(CORPUS), "PYTHONUNBUFFERED": "1"}
    env.pop("QABOT_PORT", None)
    env.pop("QABOT_HOST", None)
    with stderr_path.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "qabot.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=tmp_path,
        )
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        reader = threading.Thread(target=lambda: lines.put(process.stdout.readline()),
                                  daemon=True)
        reader.start()
        try:
            first = lines.get(timeout=30)
        except queue.Empty:
            pytest.fail("qabot serve printed nothing in 30 s: " + stderr_path.read_text())
        match = re.fullmatch(r"qabot: serving (\S+) on (http://127\.0\.0\.1:(\d+)/) "
                             r"\(Ctrl-C to stop\)\n", first)
        assert match, (first, stderr_path.read_text())
        assert match.group(1) == str(CORPUS) and match.group(3) != "0"
        served = Served(match.group(2), process, stderr_path)
        _wait_until_healthy(served)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]


def _wait_until_healthy(served: Served) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            assert served.get("/api/health")["status"] == "ok"
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or served.process.poll() is not None:
                raise
            time.sleep(0.05)


def _stop(served: Served) -> int:
    served.process.send_signal(signal.SIGTERM)
    return served.process.wait(timeout=15)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be sent on Windows")
def test_serve_answers_over_a_socket_logs_and_stops_cleanly_on_sigterm(
        tmp_path: Path, bot: QABot) -> None:
    with serving(tmp_path) as served:
        assert served.ask({"question": HQ}) == bot.ask(HQ).to_dict()
        with pytest.raises(urllib.error.HTTPError) as bad:
            served.ask({"question": "", "top_k": 3})
        with bad.value as error_response:
            assert error_response.code == 400
            assert json.load(error_response)["error"]["code"] == "invalid_question"
        assert _stop(served) == 0
        assert served.process.stdout.read() == ""  # type: ignore[union-attr]
    log = served.stderr.read_text("utf-8")
    assert re.search(r"qabot\.access: GET /api/health 200 \d+\.\d ms", log), log
    assert re.search(r"qabot\.access: POST /api/chat 200 \d+\.\d ms", log), log
    assert re.search(r"qabot\.access: POST /api/chat 400 \d+\.\d ms", log), log
    assert log.rstrip().endswith("qabot: stopped"), log
    assert "Traceback" not in log


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be sent on Windows")
def test_real_server_answers_8_threads_x_50_requests_identically(tmp_path: Path,
                                                                 bot: QABot) -> None:
    expected = {q: bot.ask(q).to_dict() for q in QUESTIONS}
    errors: list[BaseException] = []
    replies: dict[str, list[Any]] = {q: [] for q in QUESTIONS}
    lock = threading.Lock()

    def worker(offset: int) -> None:
        for i in range(50):
            question = QUESTIONS[(offset + i) % len(QUESTIONS)]
            try:
                reply = served.ask({"question": question})
            except BaseException as exc:  # noqa: BLE001 - every failure is counted
                with lock:
                    errors.append(exc)
                continue
            with lock:
                replies[question].append(reply)

    with serving(tmp_path, "--threads", "4") as served:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert _stop(served) == 0
    assert errors == []
    assert sum(len(r) for r in replies.values()) == 400
    for question, got in replies.items():
        assert all(reply == expected[question] for reply in got), question
    log = served.stderr.read_text("utf-8")
    assert log.count("qabot.access: POST /api/chat 200 ") == 400


# ----------------------------------------------------- one declaration: models and endpoints

from dataclasses import replace  # noqa: E402

from pydantic import Field  # noqa: E402

from qabot.server import NOT_BLANK_PATTERN  # noqa: E402
from qabot.server import schema as api  # noqa: E402
from qabot.server.errors import HTTP_ERROR_CODES  # noqa: E402
from qabot.server.openapi import openapi_path  # noqa: E402
from qabot.server.routes import ENDPOINTS, Endpoint, Reply  # noqa: E402


class ChatWithContext(api.ChatRequest):
    """A request model grown by one field, as the follow-up questions will grow it."""

    context: list[str] = Field(default_factory=list, max_length=5,
                               description="The previous questions, oldest first.")


class AnswerWithResolution(api.Answer):
    """A reply model grown by one key that is only there sometimes."""

    resolved_question: str | None = None


def _grown_endpoints() -> tuple[Endpoint, ...]:
    chat = next(e for e in ENDPOINTS if e.operation_id == "chat")
    grown = replace(chat, body=ChatWithContext,
                    replies={**chat.replies, "200": Reply("The answer", AnswerWithResolution)})
    return tuple(grown if e is chat else e for e in ENDPOINTS)


def test_openapi_schemas_are_generated_from_the_models(client: FlaskClient) -> None:
    """The served components are the models' own JSON Schemas, and a field added to a model
    (or an endpoint's model swapped) shows up in the document with nothing else written."""
    served = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    for model, mode in ((api.ChatRequest, "validation"), (api.Answer, "serialization"),
                        (api.Health, "serialization"), (api.Error, "serialization")):
        own = model.model_json_schema(mode=mode, ref_template="#/components/schemas/{model}")
        assert served[model.__name__]["properties"].keys() == own["properties"].keys()
        assert served[model.__name__]["required"] == own["required"]
    assert served["ChatRequest"]["properties"]["top_k"] == {
        **{k: v for k, v in served["ChatRequest"]["properties"]["top_k"].items()
           if k == "description"},
        "type": "integer", "minimum": 1, "maximum": 10, "default": 3}
    assert served["ChatRequest"]["properties"]["context"] == {
        **{k: v for k, v in served["ChatRequest"]["properties"]["context"].items()
           if k == "description"},
        "type": "array", "maxItems": 5, "items": {
            "type": "string", "minLength": 1, "maxLength": 1000, "pattern": NOT_BLANK_PATTERN}}
    assert "resolved_question" not in served["Answer"]["required"]  # only with a context

    grown = openapi_spec(_grown_endpoints())
    validate_openapi(grown)
    chat = grown["paths"]["/api/chat"]["post"]
    request_ref = chat["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    reply_ref = chat["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schemas = grown["components"]["schemas"]
    request = schemas[request_ref.rsplit("/", 1)[1]]
    assert request["properties"]["context"] == {
        "type": "array", "items": {"type": "string"}, "maxItems": 5,
        "description": "The previous questions, oldest first."}
    assert request["required"] == ["question"]  # a field with a default is optional
    reply = schemas[reply_ref.rsplit("/", 1)[1]]
    assert "resolved_question" in reply["properties"]
    assert "resolved_question" not in reply["required"]
    # The grown request is validated by the same model that documents it.
    jsonschema.validate({"question": HQ, "context": ["Who funds it?"]},
                        {"components": grown["components"], "$ref": request_ref})
    assert ChatWithContext.parse({"question": HQ, "context": ["a"]}).context == ["a"]
    with pytest.raises(api.RequestRefused, match="allowed fields are question, top_k, context"):
        ChatWithContext.parse({"question": HQ, "contxt": []})
    with pytest.raises(api.RequestRefused, match="^context: ") as refused:
        ChatWithContext.parse({"question": HQ, "context": "Who funds it?"})
    assert refused.value.code == "invalid_context"


def test_every_endpoint_is_a_route_and_an_operation(app: Flask) -> None:
    """The one endpoint table gives both the app's routes and the document's operations."""
    rules = {(rule.rule, method) for rule in app.url_map.iter_rules()
             for method in (rule.methods or ()) - {"HEAD", "OPTIONS"}}
    assert rules == {(e.rule, e.method) for e in ENDPOINTS}
    paths = openapi_spec()["paths"]
    assert {(openapi_path(e.rule), e.method.lower()) for e in ENDPOINTS} == {
        (path, method) for path, item in paths.items() for method in item}
    assert len({e.operation_id for e in ENDPOINTS}) == len(ENDPOINTS)


# (body, status, the exact error code and message; None for a 200)
CHAT_BODIES: list[tuple[Any, int, str | None, str | None]] = [
    ({"question": HQ}, 200, None, None),
    ({"question": HQ, "top_k": 1}, 200, None, None),
    ({"question": HQ, "top_k": 10.0}, 200, None, None),
    ({"question": "\u200b"}, 200, None, None),
    ({"question": "\ufeff"}, 200, None, None),
    ({"question": " " + "a" * 998 + " "}, 200, None, None),
    (["hi"], 400, "invalid_body",
     'the body must be a JSON object like {"question": "..."}, got array'),
    (7, 400, "invalid_body", 'the body must be a JSON object like {"question": "..."}, '
                             "got number 7"),
    ({"top_k": 3}, 400, "invalid_question", 'question is required: send {"question": "..."}'),
    ({"question": None}, 400, "invalid_question", "question must be a string, got null"),
    ({"question": 4.5}, 400, "invalid_question", "question must be a string, got number 4.5"),
    ({"question": {"a": 1}}, 400, "invalid_question", "question must be a string, got object"),
    ({"question": ""}, 400, "invalid_question", LENGTH_MSG + "0"),
    ({"question": "\x1c\u3000\x85"}, 400, "invalid_question", LENGTH_MSG + "0"),
    ({"question": "a" * 1001}, 400, "invalid_question", LENGTH_MSG + "1001"),
    ({"question": "\n" * 1001}, 400, "invalid_question", LENGTH_MSG + "1001"),
    ({"question": "hi", "top_k": 0}, 400, "invalid_top_k", TOP_K_MSG + "0"),
    ({"question": "hi", "top_k": 1e300}, 400, "invalid_top_k", TOP_K_MSG + str(int(1e300))),
    ({"question": "hi", "top_k": -2.0}, 400, "invalid_top_k", TOP_K_MSG + "-2"),
    ({"question": "hi", "top_k": 2.5}, 400, "invalid_top_k", TOP_K_MSG + "number 2.5"),
    ({"question": "hi", "top_k": "3"}, 400, "invalid_top_k", TOP_K_MSG + 'string "3"'),
    ({"question": "hi", "top_k": True}, 400, "invalid_top_k", TOP_K_MSG + "boolean true"),
    ({"question": "hi", "top_k": [3]}, 400, "invalid_top_k", TOP_K_MSG + "array"),
    # One refusal at a time: unknown fields first, then the fields in order.
    ({"question": 1, "top_k": 0, "topk": 1}, 400, "unknown_field",
     'unknown field "topk": the allowed fields are question, top_k, context'),
    ({"b": 1, "a": 2}, 400, "unknown_field",
     'unknown fields "b", "a": the allowed fields are question, top_k, context'),
    ({"question": "", "top_k": 0}, 400, "invalid_question", LENGTH_MSG + "0"),
    ({"question": "Who leads it?", "context": [HQ]}, 200, None, None),
    ({"question": HQ, "context": []}, 200, None, None),
    ({"question": "Why?", "context": [" a "] * 5}, 200, None, None),
    ({"question": "hi", "context": "x"}, 400, "invalid_context",
     'context must be a list of at most 5 earlier questions (newest last), got string "x"'),
    ({"question": "hi", "context": ["a"] * 6}, 400, "invalid_context",
     "context must be a list of at most 5 earlier questions (newest last), got 6 items"),
    ({"question": "hi", "context": ["a", "\u3000"]}, 400, "invalid_context",
     'context item 2 must be a question of 1 to 1000 characters, not blank, got string "\u3000"'),
    ({"question": "", "context": "x"}, 400, "invalid_question", LENGTH_MSG + "0"),
    ({"x" * 50: 1}, 400, "unknown_field",
     f'unknown field "{"x" * 40}…": the allowed fields are question, top_k, context'),
]


@pytest.mark.parametrize(("body", "status", "code", "message"), CHAT_BODIES,
                         ids=[f"{i}-{case[2] or 'ok'}" for i, case in enumerate(CHAT_BODIES)])
def test_validation_and_schema_agree_on_a_table_of_bodies(
        client: FlaskClient, body: Any, status: int, code: str | None,
        message: str | None) -> None:
    """The server's reply (exact code and message), the model's own verdict and the
    published schema's verdict are the same for each body."""
    response = _chat(client, body)
    assert response.status_code == status, response.get_json()
    schema_valid = jsonschema.Draft202012Validator(_schema("ChatRequest")).is_valid(body)
    assert schema_valid == (status == 200)
    if status == 200:
        assert api.ChatRequest.parse(body).question == body["question"]
        jsonschema.validate(response.get_json(), _schema("Answer"))
        return
    assert response.get_json() == {"error": {"status": 400, "code": code, "message": message}}
    with pytest.raises(api.RequestRefused) as refused:
        api.ChatRequest.parse(body)
    assert (refused.value.code, refused.value.message) == (code, message)


def test_the_not_blank_pattern_is_pythons_whitespace() -> None:
    """The schema's pattern refuses exactly the characters ``str.strip`` removes, over every
    code point (surrogates aside: the server refuses them as invalid JSON first)."""
    pattern = re.compile(NOT_BLANK_PATTERN)
    refused = {c for c in map(chr, range(0x110000))
               if not 0xD800 <= ord(c) <= 0xDFFF and not pattern.fullmatch(c)}
    assert refused == {c for c in map(chr, range(0x110000)) if c.isspace()}


def test_the_reply_models_have_the_engine_keys_in_order(bot: QABot, client: FlaskClient
                                                         ) -> None:
    answer = bot.ask(HQ, 3).to_dict()
    # resolved_question is there only when the question came with a context
    assert list(answer) == [k for k in api.Answer.model_fields if k != "resolved_question"]
    assert list(answer["alternatives"][0]) == list(api.Alternative.model_fields)
    assert api.Answer.model_validate(answer).model_dump(exclude_unset=True) == answer
    followup = bot.ask("Who is in charge of it?", 3, context=[HQ]).to_dict()
    assert list(followup) == list(api.Answer.model_fields)
    assert api.Answer.model_validate(followup).model_dump() == followup
    health = client.get("/api/health").get_json()
    assert list(health) == list(api.Health.model_fields)


@pytest.mark.parametrize("status", sorted(set(HTTP_ERROR_CODES) | {413, 429}))
def test_the_error_body_is_the_error_model(status: int) -> None:
    body = api.Error.body(status, HTTP_ERROR_CODES.get(status, "too_many_requests"), "why")
    assert api.Error.model_validate(body).model_dump() == body
    jsonschema.validate(body, _schema("Error"))


def test_the_server_schema_stays_off_the_cli_start() -> None:
    """pydantic is for serving: ``qabot --help`` does not import it."""
    code = ("import sys\nfrom qabot.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint('pydantic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"

# ----------------------------------------------------------------------------- feedback


def _feedback_app(bot: QABot, path: Path, **config: Any) -> Flask:
    return create_app({"TESTING": True, **config}, bot=bot, feedback_path=path)


def _reply_ids(bot: QABot) -> tuple[str, str, str]:
    """A real reply's question, answer passage id and first alternative's id."""
    reply = bot.ask(HQ)
    assert reply.passage_id and reply.alternatives
    return reply.question, reply.passage_id, reply.alternatives[0].passage_id


def test_health_says_whether_feedback_is_on(bot: QABot, tmp_path: Path) -> None:
    assert create_app({"TESTING": True}, bot=bot).test_client().get(
        "/api/health").get_json()["feedback"] is False
    on = _feedback_app(bot, tmp_path / "votes.jsonl").test_client().get("/api/health")
    assert on.get_json()["feedback"] is True
    jsonschema.validate(on.get_json(), _schema("Health"))


@pytest.mark.parametrize("body", [
    {"question": HQ, "passage_id": "iom.txt:0-1", "vote": "up"},
    {"question": HQ, "passage_id": "iom.txt:15824-16214", "vote": "down",
     "chosen_passage_id": "iom.txt:753-786"},
])
def test_feedback_off_is_a_404_json_error(client: FlaskClient, body: Any) -> None:
    """A well-formed vote to a server without a log is told feedback is off (a malformed
    one is refused first, as on any endpoint: the body is read before the view runs)."""
    response = client.post("/api/feedback", json=body)
    _assert_error(response, 404, "feedback_disabled", "feedback is off on this server")
    assert "--feedback FILE" in response.get_json()["error"]["message"]
    _assert_error(client.post("/api/feedback", json={}), 400, "invalid_question",
                  "question is required")
    _assert_error(client.get("/api/feedback"), 405, "method_not_allowed", "POST")


def test_a_vote_is_recorded_with_the_servers_time_and_corpus_hash(bot: QABot,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    client = _feedback_app(bot, path).test_client()
    question, shown, other = _reply_ids(bot)
    bodies = [{"question": question, "passage_id": shown, "vote": "up"},
              {"question": f"  {question} ", "passage_id": shown, "vote": "down",
               "chosen_passage_id": other},
              {"question": question, "passage_id": shown, "vote": "down",
               "chosen_passage_id": None}]
    replies = []
    for body in bodies:
        jsonschema.validate(body, _schema("FeedbackRequest"))
        response = client.post("/api/feedback", json=body)
        assert response.status_code == 201, response.get_json()
        assert response.headers["Cache-Control"] == "no-store"
        jsonschema.validate(response.get_json(), _schema("Vote"))
        replies.append(response.get_json())
    assert [json.loads(line) for line in path.read_text("ascii").splitlines()] == replies
    digest = corpus_hash(bot.documents)
    assert all(r["corpus_hash"] == digest and r["question"] == question for r in replies)
    assert [(r["vote"], r["chosen_passage_id"]) for r in replies] == [
        ("up", None), ("down", other), ("down", None)]


FEEDBACK_BAD = [
    ("text-plain", {"data": "{}", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ("empty-body", {"data": "", "content_type": "application/json"}, 400, "invalid_json"),
    ("malformed", {"data": '{"vote": ', "content_type": "application/json"}, 400,
     "invalid_json"),
    ("surrogate", {"data": '{"question": "\\ud800"}', "content_type": "application/json"}, 400,
     "invalid_json"),
    ("array", {"json": []}, 400, "invalid_body"),
    ("unknown-field", {"json": {"question": HQ, "passage_id": "P", "vote": "up",
                                "corpus_hash": "0" * 64}}, 400, "unknown_field"),
    ("no-question", {"json": {"passage_id": "P", "vote": "up"}}, 400, "invalid_question"),
    ("blank-question", {"json": {"question": " ", "passage_id": "P", "vote": "up"}}, 400,
     "invalid_question"),
    ("bad-vote", {"json": {"question": HQ, "passage_id": "P", "vote": "maybe"}}, 400,
     "invalid_vote"),
    ("number-id", {"json": {"question": HQ, "passage_id": 3, "vote": "up"}}, 400,
     "invalid_passage_id"),
    ("unknown-id", {"json": {"question": HQ, "passage_id": "iom.txt:0-1", "vote": "up"}}, 422,
     "unknown_passage"),
    ("unknown-chosen", {"json": {"question": HQ, "passage_id": "P", "vote": "down",
                                 "chosen_passage_id": "../../etc/passwd:0-9"}}, 422,
     "unknown_passage"),
    ("chosen-with-up", {"json": {"question": HQ, "passage_id": "P", "vote": "up",
                                 "chosen_passage_id": "C"}}, 400, "invalid_vote"),
    ("chosen-is-shown", {"json": {"question": HQ, "passage_id": "P", "vote": "down",
                                  "chosen_passage_id": "P"}}, 400,
     "invalid_chosen_passage_id"),
]


@pytest.mark.parametrize(("name", "kwargs", "status", "code"), FEEDBACK_BAD,
                         ids=[case[0] for case in FEEDBACK_BAD])
def test_a_bad_feedback_body_is_a_json_error_and_writes_nothing(
        bot: QABot, tmp_path: Path, name: str, kwargs: dict[str, Any], status: int,
        code: str) -> None:
    path = tmp_path / "votes.jsonl"
    client = _feedback_app(bot, path).test_client()
    _, shown, other = _reply_ids(bot)
    if "json" in kwargs and isinstance(kwargs["json"], dict):
        swap = {"P": shown, "C": other}
        kwargs = {"json": {k: swap.get(v, v) if isinstance(v, str) else v
                           for k, v in kwargs["json"].items()}}
    response = client.post("/api/feedback", **kwargs)
    _assert_error(response, status, code, "")
    assert path.read_bytes() == b""
    if "json" in kwargs and isinstance(kwargs["json"], dict) and code not in (
            "unknown_passage", "invalid_chosen_passage_id"):  # rules beyond a schema
        with pytest.raises(jsonschema.ValidationError):  # the schema refuses it too
            jsonschema.validate(kwargs["json"], _schema("FeedbackRequest"))


def test_a_full_feedback_log_is_a_507_logged_once(bot: QABot, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "votes.jsonl"
    question, shown, _ = _reply_ids(bot)
    body = {"question": question, "passage_id": shown, "vote": "up"}
    client = _feedback_app(bot, path, FEEDBACK_MAX_BYTES=400).test_client()
    assert client.post("/api/feedback", json=body).status_code == 201
    size = path.stat().st_size
    assert size * 2 > 400
    with caplog.at_level(logging.ERROR, logger="qabot.feedback"):
        for _ in range(3):
            _assert_error(client.post("/api/feedback", json=body), 507, "feedback_full",
                          "the vote was not recorded")
    assert path.stat().st_size == size
    assert [r.getMessage() for r in caplog.records if r.name == "qabot.feedback"] == [
        f"feedback log {path} is full ({size} bytes, limit 400): votes are refused with 507 "
        "until it is moved away or emptied"]


def test_a_failing_feedback_write_is_a_503_without_details(
        bot: QABot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    app = _feedback_app(bot, tmp_path / "votes.jsonl")
    question, shown, _ = _reply_ids(bot)

    def broken(vote: Any) -> None:
        raise OSError(28, "No space left on device (secret detail)")

    monkeypatch.setattr(app.extensions["qabot.feedback"], "append", broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().post(
            "/api/feedback", json={"question": question, "passage_id": shown, "vote": "up"})
    _assert_error(response, 503, "feedback_unavailable", "could not be recorded")
    assert "secret detail" not in response.get_data(as_text=True)
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in caplog.records)


def test_create_app_refuses_a_feedback_path_it_cannot_append_to(bot: QABot,
                                                                tmp_path: Path) -> None:
    with pytest.raises(FeedbackError, match="cannot append feedback"):
        _feedback_app(bot, tmp_path / "missing-folder" / "votes.jsonl")


def test_serve_feedback_records_votes_from_several_workers(tmp_path: Path) -> None:
    """``qabot serve --workers 2 --feedback FILE`` under 8 clients voting at once: every vote
    is one whole line, and ``QABOT_FEEDBACK`` does the same as the option."""
    path = tmp_path / "votes.jsonl"
    with serving(tmp_path, "--workers", "2", "--feedback", str(path)) as served:
        assert served.get("/api/health")["feedback"] is True
        reply = served.ask({"question": HQ})
        errors: list[BaseException] = []

        def vote(worker: int) -> None:
            for n in range(25):
                body = {"question": f"{HQ} {worker}-{n}", "passage_id": reply["passage_id"],
                        "vote": "down",
                        "chosen_passage_id": reply["alternatives"][0]["passage_id"]}
                request = urllib.request.Request(
                    served.url + "api/feedback", data=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        assert response.status == 201
                except BaseException as exc:  # noqa: BLE001 - every failure is counted
                    errors.append(exc)

        threads = [threading.Thread(target=vote, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert _stop(served) == 0
    assert errors == []
    lines = [json.loads(line) for line in path.read_text("ascii").splitlines()]
    assert sorted(v["question"] for v in lines) == sorted(
        f"{HQ} {w}-{n}" for w in range(8) for n in range(25))
    log = served.stderr.read_text("utf-8")
    assert f"recording readers' votes in {path}" in log
    assert log.count("qabot.access: POST /api/feedback 201 ") == 200
    env_path = tmp_path / "env-votes.jsonl"
    os.environ["QABOT_FEEDBACK"] = str(env_path)
    try:
        with serving(tmp_path) as served:
            assert served.get("/api/health")["feedback"] is True
            _stop(served)
    finally:
        del os.environ["QABOT_FEEDBACK"]
    assert env_path.exists()


def test_serve_with_an_unwritable_feedback_path_fails_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--corpus", str(CORPUS), "--feedback",
                                       str(tmp_path / "no-folder" / "votes.jsonl")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "qabot: error: " in result.stderr and "cannot append feedback" in result.stderr



# ----------------------------------------------------------------------------- follow-ups

CONTEXT_MSG = "context must be a list of at most 5 earlier questions (newest last), got "
CONTEXT_ITEM_MSG = "must be a question of 1 to 1000 characters, not blank, got "
BAD_CONTEXTS = [
    ("string", "Where?", CONTEXT_MSG + 'string "Where?"'),
    ("null", None, CONTEXT_MSG + "null"),
    ("object", {"q": "Where?"}, CONTEXT_MSG + "object"),
    ("six", ["Where?"] * 6, CONTEXT_MSG + "6 items"),
    ("number-item", ["Where?", 3], "context item 2 " + CONTEXT_ITEM_MSG + "number 3"),
    ("empty-item", [""], "context item 1 " + CONTEXT_ITEM_MSG + 'string ""'),
    ("blank-item", [" \n "], "context item 1 " + CONTEXT_ITEM_MSG + 'string " \\n "'),
    ("long-item", ["a" * 1001], "context item 1 " + CONTEXT_ITEM_MSG + "1001 characters"),
    ("null-item", [None], "context item 1 " + CONTEXT_ITEM_MSG + "null"),
]


@pytest.mark.parametrize(("context", "message"), [c[1:] for c in BAD_CONTEXTS],
                         ids=[c[0] for c in BAD_CONTEXTS])
def test_bad_context_is_a_400_naming_context(client: FlaskClient, context: object,
                                             message: str) -> None:
    body = {"question": "When was it founded?", "context": context}
    _assert_error(client.post("/api/chat", json=body), 400, "invalid_context", message)
    with pytest.raises(jsonschema.ValidationError):  # the schema refuses it too
        jsonschema.validate(body, _schema("ChatRequest"))


def test_a_followup_is_answered_with_the_question_it_was_read_as(client: FlaskClient,
                                                                  bot: QABot) -> None:
    body = {"question": "Who is in charge of it?", "top_k": 3,
            "context": ["What is the IOM's 2024 budget?", HQ]}
    jsonschema.validate(body, _schema("ChatRequest"))
    response = client.post("/api/chat", json=body)
    assert response.status_code == 200
    data = response.get_json()
    jsonschema.validate(data, _schema("Answer"))
    expected = bot.ask(body["question"], 3, context=body["context"])
    assert data == json.loads(json.dumps(expected.to_dict()))
    assert data["question"] == "Who is in charge of it?"
    assert data["resolved_question"] and "headquarters" in data["resolved_question"]


@pytest.mark.parametrize("extra", [{}, {"context": []}])
def test_without_context_the_reply_has_no_resolved_question(client: FlaskClient,
                                                            extra: dict[str, Any]) -> None:
    plain = client.post("/api/chat", json={"question": HQ})
    assert client.post("/api/chat", json={"question": HQ, **extra}).data == plain.data
    assert "resolved_question" not in plain.get_json()


def test_a_self_contained_question_with_context_is_answered_as_asked(
        client: FlaskClient) -> None:
    data = client.post("/api/chat", json={"question": HQ,
                                          "context": ["How is IOM funded?"]}).get_json()
    assert data.pop("resolved_question") is None
    assert data == client.post("/api/chat", json={"question": HQ}).get_json()


def test_the_answer_cache_keeps_a_followup_apart_from_the_question_alone(
        client: FlaskClient) -> None:
    """The per-process answer cache keys on the context too: the same question asked alone,
    with a context and alone again gets each its own reply."""
    question = {"question": "Who is in charge of it?"}
    alone = client.post("/api/chat", json=question).get_json()
    followup = client.post("/api/chat", json={**question, "context": [HQ]}).get_json()
    other = client.post("/api/chat", json={**question, "context": ["How is IOM funded?"]})
    assert "resolved_question" not in alone
    assert "headquarters" in followup["resolved_question"]
    assert "funded" in other.get_json()["resolved_question"]
    assert client.post("/api/chat", json=question).get_json() == alone
