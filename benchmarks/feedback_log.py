"""How fast the feedback log appends votes (qabot/feedback.py), and that it stays whole.

Run from the repository root::

    python benchmarks/feedback_log.py [--votes 2000] [--threads 8] [--processes 4] [--json]

Each run appends ``--votes`` votes of a typical size (a 60-character question, two
passage ids) to a fresh log in a temporary folder through ``FeedbackLog.append`` (open
with ``O_APPEND``, ``flock``, one ``os.write``, close), in three ways: one thread, then
``--threads`` threads of one process, then ``--processes`` separate processes (as the
workers of ``qabot serve --workers N`` write; timed from the first append to the last, once
every process has started). Measured: votes per second over the wall time
and the median time of one append in the single-thread run. Each log is then read back with
``read_feedback`` to check that every line is a whole vote. A vote costs a few syscalls and
no fsync, so the numbers are those of the file system's page cache.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from qabot.feedback import FeedbackLog, Vote, read_feedback  # noqa: E402

QUESTION = "Where is the International Organization for Migration based?"
WRITER = """
import sys, time
from qabot.feedback import FeedbackLog, Vote
log = FeedbackLog(sys.argv[1])
votes = [Vote("2026-01-01T00:00:00.000Z", "a" * 64, sys.argv[3] + str(n),
              "iom.txt:15824-16214", "down", "iom.txt:753-786") for n in range(int(sys.argv[2]))]
sys.stdin.read()  # all processes start writing together
started = time.time()
for vote in votes:
    log.append(vote)
print(started, time.time())
"""


def _vote(n: int) -> Vote:
    return Vote("2026-01-01T00:00:00.000Z", "a" * 64, f"{QUESTION} {n}",
                "iom.txt:15824-16214", "down", "iom.txt:753-786")


def _check(path: Path, expected: int) -> None:
    votes, problems = read_feedback(path)
    if problems or len(votes) != expected:
        raise SystemExit(f"{path}: {len(votes)} whole votes of {expected}, problems: "
                         f"{problems[:3]}")


def one_thread(folder: Path, votes: int) -> dict[str, float]:
    log = FeedbackLog(folder / "one.jsonl")
    times = []
    started = time.perf_counter()
    for n in range(votes):
        t = time.perf_counter()
        log.append(_vote(n))
        times.append(time.perf_counter() - t)
    wall = time.perf_counter() - started
    _check(log.path, votes)
    return {"votes_per_s": votes / wall, "median_append_us": statistics.median(times) * 1e6}


def threads(folder: Path, votes: int, count: int) -> dict[str, float]:
    log = FeedbackLog(folder / "threads.jsonl")
    each = votes // count

    def write(worker: int) -> None:
        for n in range(each):
            log.append(_vote(worker * each + n))

    pool = [threading.Thread(target=write, args=(w,)) for w in range(count)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    _check(log.path, each * count)
    return {"votes_per_s": each * count / wall}


def processes(folder: Path, votes: int, count: int) -> dict[str, float]:
    path = folder / "processes.jsonl"
    each = votes // count
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    running = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(each), f"{p}-"],
                                env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True) for p in range(count)]
    time.sleep(1.0)  # let every process start and import qabot
    spans = []
    for process in running:
        process.stdin.close()  # type: ignore[union-attr]
    for process in running:
        out = process.stdout.read()  # type: ignore[union-attr]
        if process.wait() != 0:
            raise SystemExit("a writer process failed")
        spans.append(tuple(map(float, out.split())))
    # From the first process's first append to the last one's last: start-up not counted.
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    _check(path, each * count)
    return {"votes_per_s": each * count / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = {
            "line_bytes": len(_vote(0).to_line()),
            "one_thread": one_thread(folder, args.votes),
            f"{args.threads}_threads": threads(folder, args.votes, args.threads),
            f"{args.processes}_processes": processes(folder, args.votes, args.processes),
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"vote line: {result['line_bytes']} bytes; every log read back whole")
    for name, numbers in result.items():
        if isinstance(numbers, dict):
            extra = (f", median append {numbers['median_append_us']:.0f} us"
                     if "median_append_us" in numbers else "")
            print(f"{name.replace('_', ' '):>12}: {numbers['votes_per_s']:,.0f} votes/s{extra}")


if __name__ == "__main__":
    main()
