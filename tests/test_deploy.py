"""deploy/nginx.conf as docs/deploy.md uses it: two `qabot serve` replicas sharing one index
built by `qabot index`, behind Debian's nginx on loopback; one replica is killed by its PID
in the middle of a load, and no client request fails.

Without nginx the module is skipped, except under CI=true, where it fails: `.ci/run`
installs nginx, so CI can never pass without running it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qabot import QABot

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
CONFIG = REPO / "deploy" / "nginx.conf"
QUESTIONS = [json.loads(line)["question"]
             for line in (CORPUS / "iom.questions.jsonl").read_text("utf-8").splitlines()]
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)

if sys.platform == "win32":
    pytest.skip("needs POSIX signals", allow_module_level=True)
if NGINX is None:
    if os.environ.get("CI") == "true":
        pytest.fail("nginx is missing: the replicas test must run in CI (.ci/run installs it)",
                    pytrace=False)
    pytest.skip("nginx is not installed (apt-get install nginx)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_replica(index_dir: Path, log: Path) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "qabot.cli", "serve", "--corpus", str(CORPUS),
               "--index-dir", str(index_dir), "--port", "0", "--workers", "1"]
    with log.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()  # type: ignore[union-attr]
    assert "http://127.0.0.1:" in line, (line, log.read_text("utf-8"))
    return process, int(line.split("http://127.0.0.1:")[1].split("/")[0])


def nginx_site(port: int, replicas: list[int]) -> str:
    """deploy/nginx.conf with its listen port and replica ports swapped for the test's."""
    text = CONFIG.read_text("utf-8")
    for shipped, port_used in zip(("127.0.0.1:8001", "127.0.0.1:8002"), replicas, strict=True):
        assert shipped in text
        text = text.replace(shipped, f"127.0.0.1:{port_used}")
    assert "    listen 80;" in text
    return text.replace("    listen 80;", f"    listen 127.0.0.1:{port};")


def ask(port: int, question: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", "/api/chat", body=json.dumps({"question": question}).encode(),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["crash", "restart"])
def test_two_replicas_behind_nginx_lose_no_request_when_one_is_killed(
        tmp_path: Path, bot: QABot, signum: int) -> None:
    """SIGKILL is a crash: the requests the replica was answering are cut, and nginx asks
    the other one. SIGTERM is a rolling restart: the replica answers what it has, then goes."""
    index_dir = tmp_path / "index"
    built = subprocess.run([sys.executable, "-m", "qabot.cli", "index", str(CORPUS),
                            "--index-dir", str(index_dir)], capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    replicas = [start_replica(index_dir, tmp_path / f"replica{n}.log") for n in (1, 2)]
    (victim, victim_port), (survivor, survivor_port) = replicas
    port = free_port()
    (tmp_path / "qabot.conf").write_text(nginx_site(port, [victim_port, survivor_port]),
                                         "utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  access_log off;\n"
        + "".join(f"  {kind}_temp_path {tmp_path}/{kind};\n"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"  include {tmp_path}/qabot.conf;\n}}\n", "utf-8")
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                              "-c", str(tmp_path / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        expected = {q: bot.ask(q).to_dict() for q in QUESTIONS}
        deadline = time.monotonic() + 30
        while True:
            try:
                if ask(port, QUESTIONS[0])[0] == 200 and ask(survivor_port, QUESTIONS[0])[0] \
                        == 200 and ask(victim_port, QUESTIONS[0])[0] == 200:
                    break
            except OSError:
                pass
            assert nginx.poll() is None, nginx.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "nginx or a replica did not come up"
            time.sleep(0.1)
        survivor_before = {q: ask(survivor_port, q)[1] for q in QUESTIONS[:20]}

        total, clients = 1200, 8
        done = [0]
        failures: list[str] = []
        lock = threading.Lock()

        def client(offset: int) -> None:
            for i in range(total // clients):
                question = QUESTIONS[(offset * 13 + i) % len(QUESTIONS)]
                try:
                    status, body = ask(port, question)
                    ok = status == 200 and json.loads(body) == expected[question]
                    problem = None if ok else f"{status} {body[:200]!r}"
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    problem = repr(exc)
                with lock:
                    done[0] += 1
                    if problem:
                        failures.append(problem)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        while done[0] < total // 4:
            time.sleep(0.005)
        killed_at = done[0]
        os.kill(victim.pid, signum)
        for thread in threads:
            thread.join(timeout=120)
        assert victim.wait(timeout=20) == (-signal.SIGKILL if signum == signal.SIGKILL else 0)
        assert failures == []
        assert done[0] == total and killed_at < total // 2
        # nginx met the gone replica (refused or cut connections) and asked the other one.
        error_log = (tmp_path / "error.log").read_text("utf-8")
        assert "upstream" in error_log and f":{victim_port}" in error_log, error_log
        assert {q: ask(survivor_port, q)[1] for q in QUESTIONS[:20]} == survivor_before
        assert "POST /api/chat 200" in (tmp_path / "replica1.log").read_text("utf-8")
    finally:
        nginx.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()
        nginx.stderr.close()  # type: ignore[union-attr]
        for process, _ in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=20) == 0
            process.stdout.close()  # type: ignore[union-attr]
