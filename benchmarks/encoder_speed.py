"""What each encoder costs: none / static / transformer side by side, in one run.

Run from the repository root::

    python benchmarks/encoder_speed.py [--corpus corpus] [--questions corpus/iom.questions.jsonl]
                                       [--repeat 5] [--build-repeat 5] [--encoders ...]

* **Per question**: every question of the gold set is asked ``--repeat`` times with
  ``QABot.ask(question, top_k=5)``; the encoders take turns per question (the first one
  rotated), after an untimed warm-up pass, so machine noise hits all of them alike. Also
  the question's embedding alone (``encoder.encode([question])``).
* **Build**: ``QABot.from_documents`` (split + TF-IDF + passage embeddings) and a warm
  start from a saved ``index_dir``, medians of ``--build-repeat`` rounds taking turns. The
  encoder's model is loaded once per process before timing (its load time is printed
  apart), as a server does.

Medians and p90 in milliseconds, and ratios against ``none`` (TF-IDF alone). The numbers
in docs/speed.md ("Encoders") are this script's output. Skips ``transformer`` with a note
when its extra is not installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from qabot import QABot, load_corpus  # noqa: E402
from qabot.errors import EncoderError  # noqa: E402
from qabot.retrieval import load_encoder  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--questions", default=str(ROOT / "corpus" / "iom.questions.jsonl"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--build-repeat", type=int, default=5)
    parser.add_argument("--encoders", default="none,static,transformer")
    args = parser.parse_args()

    questions = [json.loads(line)["question"]
                 for line in Path(args.questions).read_text("utf-8").splitlines()]
    documents = load_corpus(args.corpus)
    encoders, load_ms = [], {}
    for name in args.encoders.split(","):
        start = time.perf_counter()
        try:
            load_encoder(name)
        except EncoderError as exc:
            print(f"note: {name} skipped: {exc}")
            continue
        load_ms[name] = (time.perf_counter() - start) * 1000
        encoders.append(name)
    bots = {name: QABot.from_documents(documents, encoder=name) for name in encoders}
    models = {name: load_encoder(name) for name in encoders}

    ask: dict[str, list[float]] = {name: [] for name in encoders}
    embed: dict[str, list[float]] = {name: [] for name in encoders}
    for question in questions:  # warm-up
        for bot in bots.values():
            bot.ask(question, top_k=5)
    for turn in range(args.repeat):
        for number, question in enumerate(questions):
            shift = (turn + number) % len(encoders)
            for name in encoders[shift:] + encoders[:shift]:
                start = time.perf_counter()
                bots[name].ask(question, top_k=5)
                ask[name].append((time.perf_counter() - start) * 1000)
                if models[name] is not None:
                    start = time.perf_counter()
                    models[name].encode([question])
                    embed[name].append((time.perf_counter() - start) * 1000)

    build: dict[str, list[float]] = {name: [] for name in encoders}
    warm: dict[str, list[float]] = {name: [] for name in encoders}
    with tempfile.TemporaryDirectory() as workdir:
        for name in encoders:
            QABot.from_documents(documents, encoder=name, index_dir=Path(workdir) / name)
        for turn in range(args.build_repeat):
            shift = turn % len(encoders)
            for name in encoders[shift:] + encoders[:shift]:
                start = time.perf_counter()
                QABot.from_documents(documents, encoder=name)
                build[name].append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                QABot.from_documents(documents, encoder=name, index_dir=Path(workdir) / name)
                warm[name].append((time.perf_counter() - start) * 1000)

    base_ask = statistics.median(ask["none"]) if "none" in ask else None
    base_build = statistics.median(build["none"]) if "none" in build else None
    passages = len(next(iter(bots.values())).passages)
    print(f"corpus: {args.corpus} ({passages} passages); {len(questions)} questions x "
          f"{args.repeat}; builds x {args.build_repeat}; {time.strftime('%Y-%m-%d %H:%M')}")
    print("| encoder | model load ms | question embedding p50 ms | ask p50 ms | ask p90 ms | "
          "ask vs none | build p50 ms | build vs none | warm start p50 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in encoders:
        a = statistics.median(ask[name])
        b = statistics.median(build[name])
        e = f"{statistics.median(embed[name]):.3f}" if embed[name] else "-"
        print(f"| {name} | {load_ms[name]:.0f} | {e} | {a:.2f} | "
              f"{percentile(ask[name], 0.9):.2f} | "
              f"{a / base_ask:.2f}x | {b:.0f} | {b / base_build:.2f}x | "
              f"{statistics.median(warm[name]):.0f} |" if base_ask and base_build else
              f"| {name} | {a:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
