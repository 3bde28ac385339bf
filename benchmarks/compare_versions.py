"""Median ``QABot.ask`` latency of an older commit and of the working tree, side by side.

Run from the repository root::

    python benchmarks/compare_versions.py REV [--repeat 5]

The ``qabot/`` package of commit ``REV`` is exported (``git archive``) into a temporary
folder under another package name, both versions build a bot on ``corpus/``, and every gold
question is asked of each in turn (alternating which goes first), ``--repeat`` times after a
warm-up pass. Prints the median and p90 of each and their ratio.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_old(rev: str, into: Path):  # type: ignore[no-untyped-def]
    """Import ``qabot`` as it was at ``rev`` under the name ``qabot_at_rev``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "qabot"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "qabot").rename(into / "qabot_at_rev")
    sys.path.insert(0, str(into))
    return importlib.import_module("qabot_at_rev")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the older commit, e.g. cbf2f53")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import qabot

    questions = [
        json.loads(line)["question"]
        for line in (REPO / "corpus" / "iom.questions.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        old = load_old(args.rev, Path(tmp))
        bots = {
            f"ask at {args.rev}": old.QABot.from_path(REPO / "corpus"),
            "ask now": qabot.QABot.from_path(REPO / "corpus"),
        }
        for bot in bots.values():
            for question in questions:
                bot.ask(question, top_k=5)
        times: dict[str, list[float]] = {name: [] for name in bots}
        names = list(bots)
        for round_ in range(args.repeat):
            for i, question in enumerate(questions):
                order = names if (i + round_) % 2 == 0 else names[::-1]
                for name in order:
                    start = time.perf_counter()
                    bots[name].ask(question, top_k=5)
                    times[name].append((time.perf_counter() - start) * 1000)
    base = statistics.median(times[names[0]])
    print(f"{len(questions)} questions x {args.repeat} repeats, top_k=5 (ms)")
    print("| version | n | median | p90 | x older |")
    print("|---|--:|--:|--:|--:|")
    for name in names:
        median = statistics.median(times[name])
        print(f"| {name} | {len(times[name])} | {median:.2f} | "
              f"{percentile(times[name], 0.9):.2f} | {median / base:.2f}x |")


if __name__ == "__main__":
    main()
