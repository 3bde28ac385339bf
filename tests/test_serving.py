"""Running the app (qabot/serving.py): `qabot serve --workers N`, draining on SIGTERM/SIGINT,
idle and half-sent connections, a worker that dies, and `qabot index`, all on real sockets."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from qabot import QABot
from qabot.cli import main
from qabot.serving import default_workers

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs fork and POSIX signals")

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
needs_proc = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
QUESTIONS = [json.loads(line)["question"]
             for line in (CORPUS / "iom.questions.jsonl").read_text("utf-8").splitlines()]


@dataclass
class Running:
    """A server subprocess: its process, port and the file its stderr goes to."""

    process: subprocess.Popen[str]
    port: int
    stderr: Path

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.stderr.read_text("utf-8")


@contextmanager
def running(tmp_path: Path, command: list[str]) -> Iterator[Running]:
    """Start ``command`` (it prints ``... on http://127.0.0.1:PORT/ ...`` when bound), wait
    until it answers, kill it at the end if still running."""
    stderr_path = tmp_path / f"server-{time.monotonic_ns()}.stderr"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with stderr_path.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, (line, stderr_path.read_text("utf-8"))
        server = Running(process, int(match.group(1)), stderr_path)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert http(server.port, "GET", "/api/health")[0] == 200
                break
            except OSError:
                assert process.poll() is None, server.log()
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qabot.cli", "serve", "--corpus", str(CORPUS), "--port", "0",
            *args]


def chat_request(question: str) -> bytes:
    body = json.dumps({"question": question}).encode()
    return (b"POST /api/chat HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One whole HTTP/1.1 response (Content-Length framed): status, headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} bytes of headers")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(body)} of {length} body bytes")
        body += chunk
    return int(lines[0].split()[1]), headers, body


def http(port: int, method: str, path: str, body: bytes | None = None,
         timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        if body is None:
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        else:
            sock.sendall(body)
        return read_response(sock)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except (ConnectionRefusedError, ConnectionResetError):  # reset: closed while connecting
        return True
    return False


# ----------------------------------------------------------------------------- draining


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_mid_flight_answers_all_30_requests_in_full_then_exits_0(
        tmp_path: Path, bot: QABot, workers: int, signum: int) -> None:
    """30 clients have sent all but the last bytes of their request when the signal comes:
    the server stops accepting, yet every one of them gets its complete, right answer."""
    questions = [QUESTIONS[i * 3 % len(QUESTIONS)] for i in range(30)]
    with running(tmp_path, serve_command("--workers", str(workers))) as server, \
            ExitStack() as stack:
        clients = []
        for question in questions:
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port),
                                                               timeout=20))
            request = chat_request(question)
            sock.sendall(request[:-5])
            clients.append((sock, request[-5:], question))
        time.sleep(0.5)  # every connection accepted and its request half read
        server.process.send_signal(signum)
        deadline = time.monotonic() + 10
        while not refused(server.port):
            assert time.monotonic() < deadline, "still accepting 10 s after the signal"
            time.sleep(0.05)
        for sock, rest, _ in clients:
            sock.sendall(rest)
        for sock, _, question in clients:
            status, headers, body = read_response(sock)
            assert status == 200
            assert headers["connection"] == "close"
            assert json.loads(body) == bot.ask(question).to_dict()
        assert server.process.wait(timeout=20) == 0
    log = server.log()
    assert log.count("POST /api/chat 200") == 30
    assert log.rstrip().endswith("qabot: stopped"), log
    assert "Traceback" not in log


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_right_after_30_whole_requests_loses_none(tmp_path: Path, bot: QABot,
                                                          workers: int) -> None:
    """The issue's case: requests sent, SIGTERM at once; queued ones are answered too."""
    questions = [QUESTIONS[i * 5 % len(QUESTIONS)] for i in range(30)]
    with running(tmp_path, serve_command("--workers", str(workers), "--threads", "2")) \
            as server, ExitStack() as stack:
        socks = [stack.enter_context(socket.create_connection(("127.0.0.1", server.port),
                                                              timeout=20))
                 for _ in questions]
        for sock, question in zip(socks, questions, strict=True):
            sock.sendall(chat_request(question))
        server.process.send_signal(signal.SIGTERM)
        replies = [read_response(sock) for sock in socks]
        assert server.process.wait(timeout=20) == 0
    assert [status for status, _, _ in replies] == [200] * 30
    for (_, _, body), question in zip(replies, questions, strict=True):
        assert json.loads(body) == bot.ask(question).to_dict()


SLOW_APP = textwrap.dedent("""
    import sys, time
    from qabot.serving import Server

    def app(environ, start_response):
        time.sleep(float(environ["QUERY_STRING"] or 0))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    server = Server(app, port=0, threads=4, workers=int(sys.argv[1]), grace=float(sys.argv[2]))
    print("on", server.url, flush=True)
    sys.exit(server.run())
""")


@pytest.mark.parametrize("workers", [1, 2])
def test_requests_queued_behind_busy_threads_are_finished_within_the_grace(
        tmp_path: Path, workers: int) -> None:
    """30 requests of 0.4 s each on 4 threads a process: most are still queued at SIGTERM."""
    script = tmp_path / "slow.py"
    script.write_text(SLOW_APP, "utf-8")
    with running(tmp_path, [sys.executable, str(script), str(workers), "10"]) as server, \
            ExitStack() as stack:
        socks = [stack.enter_context(socket.create_connection(("127.0.0.1", server.port),
                                                              timeout=20))
                 for _ in range(30)]
        for sock in socks:
            sock.sendall(b"GET /?0.4 HTTP/1.1\r\nHost: test\r\n\r\n")
        time.sleep(0.2)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        replies = [read_response(sock) for sock in socks]
        assert server.process.wait(timeout=20) == 0
        drained_in = time.monotonic() - started
    assert [(status, body) for status, _, body in replies] == [(200, b"done")] * 30
    assert drained_in < 10
    assert "Traceback" not in server.log()


def test_the_grace_period_bounds_the_drain(tmp_path: Path) -> None:
    """A request longer than --grace does not hold the process: it exits 0 at the deadline
    and says how many requests it cut."""
    script = tmp_path / "slow.py"
    script.write_text(SLOW_APP, "utf-8")
    with running(tmp_path, [sys.executable, str(script), "1", "1"]) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(b"GET /?30 HTTP/1.1\r\nHost: test\r\n\r\n")
        time.sleep(0.2)
        started = time.monotonic()
        assert server.stop(timeout=10) == 0
        assert time.monotonic() - started < 5
    assert "grace period of 1 s over with 1 request(s) still in flight" in server.log()


# ----------------------------------------------------------------------------- idle clients


@pytest.mark.parametrize("workers", [1, 2])
def test_200_idle_and_half_sent_connections_never_lock_out_a_request(
        tmp_path: Path, workers: int) -> None:
    """waitress's defaults stop accepting at 100 connections and keep idle ones 120 s."""
    with running(tmp_path, serve_command("--workers", str(workers), "--grace", "1")) \
            as server, ExitStack() as stack:
        for i in range(200):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", server.port),
                                                               timeout=10))
            if i % 2:
                sock.sendall(b"POST /api/ch")  # half a request line, then nothing
        time.sleep(0.3)
        for question in QUESTIONS[:5]:
            started = time.monotonic()
            status, _, body = http(server.port, "POST", "/api/chat", chat_request(question),
                                   timeout=5)
            assert status == 200 and json.loads(body)["question"] == question
            assert time.monotonic() - started < 1.0
        assert server.stop(timeout=15) == 0


# ----------------------------------------------------------------------------- workers


@needs_proc
def test_a_killed_worker_is_replaced_and_the_others_keep_answering(tmp_path: Path) -> None:
    with running(tmp_path, serve_command("--workers", "2")) as server:
        pid = server.process.pid
        workers = _wait_for_children(server, 2)
        time.sleep(2.5)  # older than a worker that dies at start (a broken setup)
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while len(set(_children(pid)) - {workers[0]}) < 2:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        for question in QUESTIONS[:10]:
            assert http(server.port, "POST", "/api/chat", chat_request(question))[0] == 200
        assert server.stop() == 0
    assert re.search(rf"worker {workers[0]} ended with signal SIGKILL; starting another",
                     server.log())


def _wait_for_children(server: Running, count: int) -> list[int]:
    """The server's worker PIDs once there are ``count`` (the first answers before the last
    is forked)."""
    deadline = time.monotonic() + 10
    while len(children := _children(server.process.pid)) < count:
        assert time.monotonic() < deadline, (children, server.log())
        time.sleep(0.05)
    return children


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


@needs_proc
def test_serve_starts_the_asked_number_of_workers_and_says_so(tmp_path: Path) -> None:
    with running(tmp_path, serve_command("--workers", "3", "--threads", "2")) as server:
        _wait_for_children(server, 3)
        time.sleep(0.5)
        assert len(_children(server.process.pid)) == 3  # and no more
        assert server.stop() == 0
    assert "qabot: 3 worker processes, 2 threads each" in server.log()


def test_default_workers_is_the_cpus_this_process_may_use() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    assert default_workers() >= 1
    if expected is not None:
        assert default_workers() == expected


# ----------------------------------------------------------------------------- qabot index


def test_index_saves_once_then_keeps_an_up_to_date_index(tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    first = CliRunner().invoke(main, ["index", str(CORPUS), "--index-dir", str(index_dir)])
    assert first.exit_code == 0, first.output
    assert re.fullmatch(rf"qabot: index of \d+ passages from 1 document saved in "
                        rf"{re.escape(str(index_dir))} \(\d+\.\d s\)\n", first.stdout)
    saved = {p.name: p.stat().st_mtime_ns for p in index_dir.iterdir()}
    assert saved
    again = CliRunner().invoke(main, ["index", str(CORPUS), "--index-dir", str(index_dir)])
    assert again.exit_code == 0
    assert "up to date, kept" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in index_dir.iterdir()} == saved


def test_serve_loads_the_index_qabot_index_saved_without_writing_it(tmp_path: Path,
                                                                    bot: QABot) -> None:
    index_dir = tmp_path / "idx"
    assert CliRunner().invoke(main, ["index", str(CORPUS), "--index-dir",
                                     str(index_dir)]).exit_code == 0
    saved = {p.name: p.stat().st_mtime_ns for p in index_dir.iterdir()}
    with running(tmp_path, serve_command("--workers", "2", "--index-dir", str(index_dir))) \
            as server:
        status, _, body = http(server.port, "POST", "/api/chat", chat_request(QUESTIONS[0]))
        assert status == 200 and json.loads(body) == bot.ask(QUESTIONS[0]).to_dict()
        assert server.stop() == 0
    assert {p.name: p.stat().st_mtime_ns for p in index_dir.iterdir()} == saved


@pytest.mark.parametrize("args, message", [
    (["index", "MISSING", "--index-dir", "IDX"], "no such file or folder"),
    (["index", "CORPUS"], "Missing option '--index-dir'"),
])
def test_index_problems_are_one_line_and_status_nonzero(tmp_path: Path, args: list[str],
                                                        message: str) -> None:
    args = [str(tmp_path / a) if a in {"MISSING", "IDX"} else str(CORPUS) if a == "CORPUS"
            else a for a in args]
    result = CliRunner().invoke(main, args, env={"QABOT_INDEX_DIR": None})
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_a_repeated_question_is_answered_from_the_process_cache(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same (question, top_k) is searched once per process and answered alike; another
    top_k or question is searched anew."""
    from qabot.server import create_app

    bot = QABot.from_path(Path(__file__).resolve().parents[1] / "corpus", encoder="none")
    asked: list[tuple[str, int]] = []
    ask = bot.ask

    def counting(question: str, top_k: int = 3):  # type: ignore[no-untyped-def]
        asked.append((question, top_k))
        return ask(question, top_k)

    monkeypatch.setattr(bot, "ask", counting)
    client = create_app(bot=bot).test_client()
    bodies = [{"question": "Where are the IOM headquarters?", "top_k": 3}] * 3 + [
        {"question": "Where are the IOM headquarters?", "top_k": 2},
        {"question": "Who leads the IOM?", "top_k": 3}]
    replies = [client.post("/api/chat", json=body) for body in bodies]
    assert all(r.status_code == 200 for r in replies)
    assert replies[0].get_json() == replies[1].get_json() == replies[2].get_json()
    assert replies[0].get_json() == ask("Where are the IOM headquarters?", 3).to_dict()
    assert asked == [("Where are the IOM headquarters?", 3),
                     ("Where are the IOM headquarters?", 2), ("Who leads the IOM?", 3)]
