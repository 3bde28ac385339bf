"""One big plain-text file, built cold, loaded warm and asked, with encoder none and static.

Run from the repository root::

    python benchmarks/bigfile.py [--megabytes 50] [--encoders none,static] [--questions 100]

The file is the reStructuredText source of the Python 3.11 documentation (Debian's
``python3.11-doc``, as ``benchmarks/scale.py`` uses it), its files joined by blank lines
and the whole repeated until the file is ``--megabytes`` MiB (at most qabot's 50 MiB
limit per document): about four copies of 12 MiB of prose, so the vocabulary is that of
one copy. Each step runs in a fresh child process, which reports its wall and CPU seconds
and its peak resident memory (``VmHWM``, the whole process: Python, qabot's imports and,
for ``static``, the model):

* **split**, once: read the file and split it into passages (``qabot/passages/``);
* **cold**: ``QABot.from_path(file, encoder=..., index_dir=...)`` with no saved index: read
  the file, split it, build the index, save it (the build alone is the cold time minus the
  split's);
* **warm**: the same call again, which reads and hashes the file and loads the saved index;
  then ``--questions`` questions (a window of 4-8 words of random passages, seed 0) asked in
  turn, p50 and p99.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import _memory, ensure_source, make_questions  # noqa: E402


def make_file(path: Path, megabytes: float) -> int:
    """Write the documentation sources, repeated, into one file of ``megabytes`` MiB."""
    limit = int(megabytes * 1024 * 1024)
    parts = [f.read_text("utf-8", errors="replace").strip()
             for f in sorted(ensure_source().rglob("*.txt"))]
    text = "\n\n".join(parts)
    copies = -(-limit // len(text.encode("utf-8")))
    data = "\n\n".join([text] * copies).encode("utf-8")[:limit]
    data = data[:data.rfind(b"\n\n")].decode("utf-8", errors="ignore").encode("utf-8")
    path.write_bytes(data + b"\n")
    return copies


def child(file: Path, encoder: str, index_dir: Path, stage: str, questions: int) -> dict:
    """One cold or warm start in this process."""
    from qabot import QABot
    from qabot.documents import load_corpus
    from qabot.passages import split_document

    cpu, wall = time.process_time(), time.perf_counter()
    out: dict[str, object] = {}
    if stage == "split":
        documents = load_corpus(file)
        out["passages"] = sum(len(split_document(d)) for d in documents)
    else:
        bot = QABot.from_path(file, encoder=encoder, index_dir=index_dir)
    out.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu,
               peak_bytes=_memory("VmHWM"))
    if stage == "warm":
        asked = make_questions(tuple(bot.passages), questions)
        times = []
        for question in asked:
            start = time.perf_counter()
            bot.ask(question, top_k=5)
            times.append(1000 * (time.perf_counter() - start))
        out.update(p50=float(np.percentile(times, 50)), p99=float(np.percentile(times, 99)))
        out["disk_bytes"] = sum(f.stat().st_size for f in index_dir.iterdir())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=50)
    parser.add_argument("--encoders", default="none,static")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        file, encoder, index_dir, stage = args.child
        print(json.dumps(child(Path(file), encoder, Path(index_dir), stage, args.questions)))
        return
    print(f"# benchmarks/bigfile.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC,"
          f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "big.txt"
        copies = make_file(file, args.megabytes)
        print(f"file: {file.stat().st_size / 2**20:.1f} MiB, the sources {copies} times "
              "(cut at a paragraph)\n")
        def run(encoder: str, index_dir: Path, stage: str) -> dict:
            done = subprocess.run([sys.executable, __file__, "--questions", str(args.questions),
                                   "--child", str(file), encoder, str(index_dir), stage],
                                  check=True, capture_output=True, text=True)
            return json.loads(done.stdout.splitlines()[-1])

        split = run("none", Path(tmp), "split")
        print(f"read + split: {split['passages']} passages, {split['seconds']:.1f} s "
              f"({split['cpu_seconds']:.1f} s CPU), peak {split['peak_bytes'] / 1e6:.0f} MB\n")
        print("| encoder | cold from_path s (CPU s) | build s (cold - split) | cold peak MB "
              "| warm from_path s (CPU s) | warm peak MB | index MB | ask p50 ms | ask p99 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for encoder in args.encoders.split(","):
            index_dir = Path(tmp) / f"idx-{encoder}"
            cold, warm = (run(encoder, index_dir, stage) for stage in ("cold", "warm"))
            print(f"| {encoder} | {cold['seconds']:.1f} ({cold['cpu_seconds']:.1f}) "
                  f"| {cold['seconds'] - split['seconds']:.1f} "
                  f"| {cold['peak_bytes'] / 1e6:.0f} "
                  f"| {warm['seconds']:.2f} ({warm['cpu_seconds']:.2f}) "
                  f"| {warm['peak_bytes'] / 1e6:.0f} | {warm['disk_bytes'] / 1e6:.0f} "
                  f"| {warm['p50']:.2f} | {warm['p99']:.2f} |", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
