"""Loopback load test of ``qabot serve``: throughput, latency, errors and server memory.

Run from the repository root::

    python benchmarks/load.py [--requests 20000] [--clients 32] [--workers N] [--threads 4]
                              [--corpus corpus] [--questions corpus/iom.questions.jsonl]
                              [--client-processes 4] [--url URL] [--json] [--distinct]

It starts ``qabot serve --port 0 --workers N`` (N defaults to the server's own default, the
CPU count) on the corpus, waits for ``/api/health``, then sends ``--requests`` ``POST
/api/chat`` requests from ``--clients`` concurrent clients, each a keep-alive HTTP/1.1
connection (``http.client``), spread over ``--client-processes`` processes so the load
generator is not held to one core by the GIL. The questions are the gold set's, in turn, each
client starting at another one. With ``--distinct`` every request asks another question
instead (a window of 4-10 words of a passage of the corpus, shuffled with seed 0, no two
alike), so
no answer is asked twice and no per-process answer cache can help. It is bounded: a fixed
number of requests, on loopback only.

Measured:

* **req/s**: requests completed over the wall time from the first to the last;
* **latency** of each request (send to last byte read): p50, p90, p99 and max;
* **errors**: anything but a 200 with a JSON body, a connection error or timeout, and any
  reply that differs from the first reply to the same question (answers must not change
  under load);
* **server CPU per request**: the user + system CPU time of the server's processes over the
  load, divided by the requests (from ``/proc/PID/stat``); with the machine's load average at
  the start and end it says how far a busy machine held the throughput down;
* **server memory**: the proportional set size (PSS, shared pages divided among the
  processes that share them, from ``/proc/PID/smaps_rollup``; RSS where that is missing) of
  the server and all its workers, sampled every 50 ms; the mean over the first thousand
  requests against the mean over the last thousand.

At the end the server gets SIGTERM and its exit status is reported. With ``--url`` an
already running server is loaded instead (no memory, no stop). Linux only (``/proc``).
Exit status 1 when any request failed.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--questions", type=Path, default=REPO / "corpus" / "iom.questions.jsonl")
    parser.add_argument("--url", default=None, help="load a running server instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--distinct", action="store_true",
                        help="a different question in every request (no answer asked twice)")
    args = parser.parse_args(argv)

    if args.distinct:
        questions = distinct_questions(args.corpus, args.requests)
    else:
        questions = [json.loads(line)["question"]
                     for line in args.questions.read_text("utf-8").splitlines() if line.strip()]
    server = None if args.url else start_server(args)
    url = args.url or server.url  # type: ignore[union-attr]
    try:
        result = run_load(url, questions, args.requests, args.clients, args.client_processes,
                          server_pid=None if server is None else server.process.pid,
                          distinct=args.distinct)
    finally:
        exit_status = None if server is None else server.stop()
    if server is not None:
        result.update(server_exit_status=exit_status, workers=server.workers)
    result.update(requests=args.requests, clients=args.clients, threads=args.threads,
                  questions="distinct" if args.distinct else str(args.questions),
                  client_processes=args.client_processes, url=url,
                  date=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  cpus=os.cpu_count(), python=platform.python_version())
    print(json.dumps(result, indent=2) if args.json else format_result(result))
    return 1 if result["errors"] else 0


# ----------------------------------------------------------------------------- the server


class Served:
    """A ``qabot serve`` subprocess on a free loopback port."""

    def __init__(self, process: subprocess.Popen[str], url: str, workers: int) -> None:
        self.process, self.url, self.workers = process, url, workers

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_server(args: argparse.Namespace) -> Served:
    command = [sys.executable, "-m", "qabot.cli", "serve", "--corpus", str(args.corpus),
               "--port", "0", "--threads", str(args.threads)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    match = re.search(r"on (http://\S+/) ", line)
    if not match:
        process.kill()
        raise SystemExit(f"load.py: qabot serve did not start: {line}{process.stderr.read()}")
    info = process.stderr.readline()
    workers = int(re.match(r"qabot: (\d+) worker", info).group(1))  # type: ignore[union-attr]
    # Keep reading stderr (one access-log line per request) so the pipe never fills.
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(match.group(1) + "api/health", timeout=5):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return Served(process, match.group(1), workers)


def memory_kib(pid: int) -> int:
    """PSS (else RSS) in KiB of ``pid`` and every descendant of it."""
    total = 0
    for proc in [pid, *descendants(pid)]:
        try:
            text = Path(f"/proc/{proc}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+) kB", text, re.M).group(1))  # type: ignore
        except (OSError, AttributeError):
            try:
                status = Path(f"/proc/{proc}/status").read_text()
                total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))  # type: ignore
            except (OSError, AttributeError):
                pass
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and every descendant of it, in seconds."""
    ticks = 0
    for proc in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


# ----------------------------------------------------------------------------- the load


def distinct_questions(corpus: Path, count: int) -> list[str]:
    """``count`` different questions: windows of 4-10 consecutive words of the corpus's
    passages, every window listed, shuffled (seed 0), each text kept once."""
    from qabot.documents import load_corpus
    from qabot.passages import split_documents

    windows = {}
    for passage in split_documents(load_corpus(corpus)):
        words = passage.text.split()
        for width in range(4, 11):
            for start in range(len(words) - width + 1):
                windows[" ".join(words[start:start + width])] = None
    questions = list(windows)
    if len(questions) < count:
        raise SystemExit(f"load.py: the corpus has {len(questions)} distinct questions, "
                         f"fewer than --requests {count}")
    random.Random(0).shuffle(questions)
    return questions[:count]


def run_load(url: str, questions: list[str], total: int, clients: int, processes: int,
             server_pid: int | None, distinct: bool = False) -> dict[str, Any]:
    """Send ``total`` requests from ``clients`` connections; the measurements as a dict."""
    processes = max(1, min(processes, clients))
    context = mp.get_context("fork" if hasattr(os, "fork") else "spawn")
    done = context.Value("i", 0)
    go = context.Event()
    queue = context.Queue()
    per_process = [clients // processes + (i < clients % processes) for i in range(processes)]
    shares = [total * n // clients for n in per_process]
    shares[-1] += total - sum(shares)
    first_client = 0
    workers = []
    asked = 0
    for n_clients, share in zip(per_process, shares, strict=True):
        # Distinct: each process asks its own slice, each of its questions once.
        mine = questions[asked:asked + share] if distinct else questions
        worker = context.Process(target=_client_process, args=(
            url, mine, n_clients, share, first_client, done, go, queue, distinct))
        worker.start()
        workers.append(worker)
        first_client += n_clients
        asked += share

    samples: list[tuple[int, int]] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.is_set():
            samples.append((done.value, memory_kib(server_pid)))  # type: ignore[arg-type]
            stop_sampling.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    if server_pid is not None:
        sampler.start()
        cpu_before = cpu_seconds(server_pid)
    load_before = os.getloadavg()[0]
    go.set()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    load_after = os.getloadavg()[0]
    stop_sampling.set()
    if server_pid is not None:
        server_cpu = cpu_seconds(server_pid) - cpu_before
        sampler.join()

    latencies = sorted(x for r in results for x in r["latencies"])
    errors: dict[str, int] = {}
    for r in results:
        for kind, count in r["errors"].items():
            errors[kind] = errors.get(kind, 0) + count
    # Replies must be the same for the same question across processes too.
    firsts: dict[str, str] = {}
    mismatched = 0
    for r in results:
        for question, digest in r["firsts"].items():
            if firsts.setdefault(question, digest) != digest:
                mismatched += 1
    if mismatched:
        errors["different reply across clients"] = mismatched
    started = min(r["started"] for r in results)
    finished = max(r["finished"] for r in results)
    out: dict[str, Any] = {
        "completed": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "seconds": round(finished - started, 2),
        "requests_per_second": round(len(latencies) / (finished - started), 1),
        "latency_ms": {name: round(_percentile(latencies, q) * 1000, 2)
                       for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
    }
    out["load_average_1min"] = {"start": round(load_before, 2), "end": round(load_after, 2)}
    if server_pid is not None:
        out["server_cpu_ms_per_request"] = round(server_cpu / max(1, total) * 1000, 2)
    if samples:
        first = [m for n, m in samples if n < 1000 and m]
        last = [m for n, m in samples if n >= total - 1000 and m]
        if first and last:
            out["memory_mib"] = {"first_1000": round(sum(first) / len(first) / 1024, 1),
                                 "last_1000": round(sum(last) / len(last) / 1024, 1),
                                 "change_percent": round((sum(last) / len(last))
                                                         / (sum(first) / len(first)) * 100
                                                         - 100, 1)}
    return out


def _client_process(url: str, questions: list[str], clients: int, total: int,
                    first_client: int, done: Any, go: Any, queue: Any,
                    distinct: bool = False) -> None:
    """``clients`` threads in this process sharing ``total`` requests."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lock = threading.Lock()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    firsts: dict[str, str] = {}
    counts = [total // clients + (i < total % clients) for i in range(clients)]
    bodies = [json.dumps({"question": q}).encode() for q in questions]
    headers = {"Content-Type": "application/json"}

    def client(index: int, count: int) -> None:
        mine: list[float] = []
        errs: dict[str, int] = {}
        seen: dict[str, str] = {}
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for i in range(count):
            q = ((index - first_client + i * clients) if distinct
                 else (index * 7 + i) % len(questions))
            begin = time.perf_counter()
            try:
                conn.request("POST", "/api/chat", body=bodies[q], headers=headers)
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - begin
                if response.status != 200:
                    kind = f"HTTP {response.status}"
                else:
                    kind = None
                    reply = json.loads(data)
                    if reply.get("question") != questions[q]:
                        kind = "reply to another question"
                    elif seen.setdefault(questions[q], data.decode()) != data.decode():
                        kind = "different reply to the same question"
            except (OSError, http.client.HTTPException, ValueError) as exc:
                elapsed = time.perf_counter() - begin
                kind = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            if kind is None:
                mine.append(elapsed)
            else:
                errs[kind] = errs.get(kind, 0) + 1
            with done.get_lock():
                done.value += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for kind, n in errs.items():
                errors[kind] = errors.get(kind, 0) + n
            for question, body in seen.items():
                firsts.setdefault(question, body)

    threads = [threading.Thread(target=client, args=(first_client + i, n))
               for i, n in enumerate(counts)]
    go.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    # perf_counter is system-wide monotonic on Linux, so processes' times compare.
    queue.put({"latencies": latencies, "errors": errors, "started": started,
               "finished": finished,
               "firsts": {q: hashlib.sha256(b.encode()).hexdigest() for q, b in firsts.items()}})


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    rank = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[rank]


def format_result(r: dict[str, Any]) -> str:
    lines = [
        f"qabot serve load test, {r['date']}, {r['cpus']} CPUs, Python {r['python']}",
        f"  server: {r.get('workers', '?')} worker(s) x {r['threads']} threads; load: "
        f"{r['requests']} requests from {r['clients']} clients in {r['client_processes']} "
        f"processes",
        f"  completed {r['completed']} in {r['seconds']} s: {r['requests_per_second']} req/s",
        "  latency ms: " + ", ".join(f"{k} {v}" for k, v in r["latency_ms"].items()),
        f"  errors: {r['errors']}" + (f" {r['error_kinds']}" if r["errors"] else ""),
    ]
    if "server_cpu_ms_per_request" in r:
        lines.append(f"  server CPU per request: {r['server_cpu_ms_per_request']} ms (all its "
                     f"processes, user + system)")
    lines.append(f"  machine load average (1 min): {r['load_average_1min']['start']} at the "
                 f"start, {r['load_average_1min']['end']} at the end")
    if "memory_mib" in r:
        m = r["memory_mib"]
        lines.append(f"  server memory (PSS, all processes): first 1000 requests "
                     f"{m['first_1000']} MiB, last 1000 {m['last_1000']} MiB "
                     f"({m['change_percent']:+.1f}%)")
    if "server_exit_status" in r:
        lines.append(f"  server exit status after SIGTERM: {r['server_exit_status']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
