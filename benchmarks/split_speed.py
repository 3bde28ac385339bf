"""Read + split CPU time and peak memory, of the working tree and of an older commit.

Run from the repository root::

    python benchmarks/split_speed.py [--megabytes 10,50] [--against REV] [--repeat 1]

Two kinds of input:

* **big files**: one plain-text file per ``--megabytes`` size, built as
  ``benchmarks/bigfile.py`` builds it (the Python 3.11 documentation sources, repeated);
  each is read and split (``load_corpus`` then ``split_document``) in a fresh child
  process, which reports its CPU seconds (``time.process_time``), wall seconds and peak
  resident memory (``ru_maxrss``: the whole process, imports included; as a child's
  ``ru_maxrss`` starts from its parent's resident size, the parent never holds a file);
* **the corpora**: the shipped corpus and every benchmark corpus (plain text, Markdown,
  HTML), each read and split ``--corpus-rounds`` times in one child process, CPU ms a round.

With ``--against REV`` the ``qabot/`` package of commit ``REV`` is exported (``git
archive``) under another package name and every measurement is made of both versions, in
alternating order, ``--repeat`` times; each row also says whether both versions gave the
same passages (a SHA-256 over every field of every passage). The machine's load varies, so
compare CPU seconds measured side by side, not wall seconds across runs.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bigfile import make_file  # noqa: E402

CORPORA = [REPO / "corpus"] + sorted(p for p in (REPO / "benchmarks" / "corpora").iterdir()
                                     if p.is_dir())


def export(rev: str, into: Path) -> Path:
    """The ``qabot`` package of ``rev``, written under ``into`` as ``qabot_at_rev``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "qabot"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "qabot").rename(into / "qabot_at_rev")
    return into


def child(kind: str, target: Path, package: str, rounds: int) -> dict:
    """Read and split ``target`` (a big file, or a corpus folder ``rounds`` times) with
    ``package`` (``qabot``, or a folder holding ``qabot_at_rev``), in this process."""
    if package == "qabot":
        sys.path.insert(0, str(REPO))
        name = "qabot"
    else:
        sys.path.insert(0, package)
        name = "qabot_at_rev"
    documents = importlib.import_module(f"{name}.documents")
    passages = importlib.import_module(f"{name}.passages")
    rounds = rounds if kind == "corpus" else 1
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        split = [p for doc in documents.load_corpus(target) for p in passages.split_document(doc)]
    cpu, wall = (time.process_time() - cpu) / rounds, (time.perf_counter() - wall) / rounds
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    digest = hashlib.sha256()
    for p in split:
        digest.update(json.dumps([p.document, p.section, list(p.parents), p.start, p.end,
                                  p.text, p.context]).encode())
    return {"cpu": cpu, "wall": wall, "maxrss": maxrss,
            "passages": len(split), "sha256": digest.hexdigest()}


def measure(kind: str, target: Path, versions: dict[str, str], repeat: int,
            rounds: int) -> dict[str, list[dict]]:
    """Each version's child results, ``repeat`` times each, the order alternating."""
    results: dict[str, list[dict]] = {label: [] for label in versions}
    labels = list(versions)
    for r in range(repeat):
        for label in labels if r % 2 == 0 else labels[::-1]:
            done = subprocess.run(
                [sys.executable, __file__, "--child", kind, str(target), versions[label],
                 str(rounds)], check=True, capture_output=True, text=True)
            results[label].append(json.loads(done.stdout.splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", default="10,50",
                        help="sizes of the big files, comma-separated ('' for none)")
    parser.add_argument("--against", metavar="REV", help="an older commit to compare with")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each version")
    parser.add_argument("--corpus-rounds", type=int, default=5,
                        help="splits of each corpus per run ('0' skips the corpora)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_file(Path(args.make[0]), float(args.make[1]))
        return
    if args.child:
        kind, target, package, rounds = args.child
        print(json.dumps(child(kind, Path(target), package, int(rounds))))
        return
    print(f"# benchmarks/split_speed.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
          f" UTC, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        versions = {"now": "qabot"}
        if args.against:
            versions = {args.against: str(export(args.against, Path(tmp))), **versions}
        same = "| same passages " if args.against else ""
        print("\n| input | passages | version | read+split CPU s | wall s | peak RSS MB "
              f"{same}|\n|---|--:|---|--:|--:|--:|{'---|' if args.against else ''}")
        inputs: list[tuple[str, str, Path]] = []
        for size in filter(None, args.megabytes.split(",")):
            file = Path(tmp) / f"big-{size}.txt"
            # Made in a child process: a child inherits its parent's peak (ru_maxrss is
            # kept across fork and exec), so this one must stay small.
            subprocess.run([sys.executable, __file__, "--make", str(file), size], check=True)
            inputs.append(("file", f"{file.stat().st_size / 2**20:.0f} MiB text", file))
        if args.corpus_rounds:
            inputs += [("corpus", f"corpus {p.name}", p) for p in CORPORA]
        for kind, label, target in inputs:
            results = measure(kind, target, versions, args.repeat, args.corpus_rounds)
            hashes = {r["sha256"] for rs in results.values() for r in rs}
            for version, runs in results.items():
                cpu = statistics.median(r["cpu"] for r in runs)
                wall = statistics.median(r["wall"] for r in runs)
                rss = max(r["maxrss"] for r in runs) / 1e6
                cpu_text, wall_text = ((f"{cpu:.2f}", f"{wall:.1f}") if kind == "file"
                                       else (f"{1000 * cpu:.1f} ms", f"{1000 * wall:.1f} ms"))
                check = f"| {'yes' if len(hashes) == 1 else 'NO'} " if args.against else ""
                print(f"| {label} | {runs[0]['passages']} | {version} | {cpu_text} "
                      f"| {wall_text} | {rss:.0f} {check}|", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
