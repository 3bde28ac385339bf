"""Per-question cost of ``QABot.ask`` against bm25s, this checkout and a baseline side by side.

Run from the repository root (``pip install -e ".[bench]"`` first)::

    git archive main | (mkdir -p /tmp/main && tar -x -C /tmp/main)
    python benchmarks/ask_profile.py --baseline /tmp/main [--sizes 1000,10000]
                                     [--questions 200] [--rounds 3] [--profile]

The passages and questions are ``benchmarks/scale.py``'s (the first 1k and 10k passages of
Debian's Python 3.11 documentation sources; a window of 4 to 8 words of 200 random passages
as questions). For each size, each qabot (this checkout and, with ``--baseline DIR``, the
``qabot`` package under ``DIR`` imported as ``qabot_baseline``) builds its index with
encoders ``none`` and ``static``, saves it and loads it back as ``qabot serve`` does
(memory-mapped); then ``gc.freeze()`` and one BLAS thread, as each serve worker runs.

Every call is timed on every question, the calls taking turns question by question (the
order rotated each question), ``--rounds`` times over the whole list: ``QABot.ask`` (top 5)
of each qabot and encoder, ``LexicalIndex.scores`` alone, the static encoder's
``Ranker.semantic_scores`` alone (the question embedded, times every passage's embedding)
and bm25s (tokenize + retrieve top 5). Each row gives the wall-clock p50/p99 over all
rounds, the thread's CPU time p50/p99 (``time.thread_time``: on a busy machine wall time
also counts the time the process waited for a CPU), and the **quiet** p50/p99: each
question's fastest round, its cost with the least interference from the rest of the
machine. Ratios are to bm25s's p50 (wall and quiet) and, with a baseline, to the
baseline's same row. Garbage collections during the timed calls are counted (a full
collection walks every object of the index).

With a baseline the script also checks that both qabots give the same ``to_dict()`` for
every question and encoder, and says how many differ. ``--profile`` prints cProfile's top
functions (own time) of one round of ``ask`` per encoder of this checkout.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime
import gc
import importlib
import importlib.util
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

import qabot
from qabot.documents import load_corpus
from qabot.passages import split_documents

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import ensure_source, make_questions, sized  # noqa: E402

ENCODERS = ("none", "static")


def import_baseline(folder: Path) -> ModuleType:
    """The ``qabot`` package under ``folder`` imported as ``qabot_baseline``, beside this
    checkout's ``qabot`` (its modules import each other relatively)."""
    init = folder / "qabot" / "__init__.py"
    if not init.is_file():
        sys.exit(f"{init} is missing: --baseline takes a folder holding a qabot package")
    spec = importlib.util.spec_from_file_location(
        "qabot_baseline", init, submodule_search_locations=[str(init.parent)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["qabot_baseline"] = module
    spec.loader.exec_module(module)
    return module


def bots_of(package: ModuleType, passages: list[dict[str, object]],
            root: Path) -> dict[str, object]:
    """One bot per encoder from ``package``, its index built, saved and loaded back."""
    name = package.__name__
    answer = importlib.import_module(f"{name}.answer")
    retrieval = importlib.import_module(f"{name}.retrieval")
    passage = importlib.import_module(f"{name}.passages").Passage
    own = tuple(passage(**{**p, "parents": tuple(p["parents"])}) for p in passages)
    bots = {}
    for encoder_name in ENCODERS:
        encoder = retrieval.load_encoder(encoder_name)
        folder = root / f"{name}-{encoder_name}"
        retrieval.Ranker.build(own, encoder).save(folder, version="bench", corpus_hash="bench")
        index = retrieval.Ranker.load(folder, version="bench", corpus_hash="bench",
                                      encoder=encoder)
        bots[encoder_name] = answer.QABot(index)
    return bots


@dataclasses.dataclass
class Timings:
    """Milliseconds per call: wall and CPU, one list per round."""

    wall: list[list[float]]
    cpu: list[list[float]]

    def row(self) -> dict[str, float]:
        wall = np.array(self.wall)
        quiet = wall.min(axis=0)
        return {"p50": _p(wall, 50), "p99": _p(wall, 99), "cpu_p50": _p(self.cpu, 50),
                "cpu_p99": _p(self.cpu, 99), "quiet_p50": _p(quiet, 50),
                "quiet_p99": _p(quiet, 99)}


def _p(values: object, q: float) -> float:
    return float(np.percentile(np.asarray(values).ravel(), q))


def time_calls(calls: dict[str, Callable[[str], object]], questions: list[str],
               rounds: int) -> tuple[dict[str, Timings], list[float]]:
    """Each call on each question, ``rounds`` times, the calls taking turns; with the
    duration (ms) of every garbage collection that ran meanwhile."""
    for call in calls.values():
        for question in questions[:5]:
            call(question)
    names = list(calls)
    out = {name: Timings([], []) for name in names}
    collections: list[float] = []
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            collections.append(1000 * (time.perf_counter() - started.pop()))

    gc.callbacks.append(on_gc)
    try:
        for _ in range(rounds):
            for timings in out.values():
                timings.wall.append([])
                timings.cpu.append([])
            for i, question in enumerate(questions):
                shift = i % len(names)
                for name in names[shift:] + names[:shift]:
                    call = calls[name]
                    cpu, wall = time.thread_time(), time.perf_counter()
                    call(question)
                    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
                    out[name].wall[-1].append(1000 * wall)
                    out[name].cpu[-1].append(1000 * cpu)
    finally:
        gc.callbacks.remove(on_gc)
    return out, collections


def profile(bot: object, questions: list[str], top: int = 15) -> str:
    """cProfile's top functions by own time over one round of ``bot.ask``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for question in questions:
        bot.ask(question, top_k=5)  # type: ignore[attr-defined]
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


def run_size(passages: tuple[object, ...], questions: list[str], baseline: ModuleType | None,
             rounds: int, show_profile: bool) -> None:
    import bm25s
    import Stemmer

    from qabot.retrieval.lexical import indexed_text

    rows = [dataclasses.asdict(p) for p in passages]  # type: ignore[call-overload]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bots = {"": bots_of(qabot, rows, root)}
        if baseline is not None:
            bots[" (baseline)"] = bots_of(baseline, rows, root)
        stemmer = Stemmer.Stemmer("english")
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize([indexed_text(p) for p in passages], stopwords="en",
                                       stemmer=stemmer, show_progress=False),
                        show_progress=False)

        def bm25s_ask(question: str) -> object:
            query = bm25s.tokenize([question], stopwords="en", stemmer=stemmer,
                                   show_progress=False)
            return retriever.retrieve(query, k=5, show_progress=False)

        calls: dict[str, Callable[[str], object]] = {"bm25s retrieve": bm25s_ask}
        for suffix, by_encoder in bots.items():
            for encoder, bot in by_encoder.items():
                calls[f"ask, {encoder}{suffix}"] = (
                    lambda q, b=bot: b.ask(q, top_k=5))  # type: ignore[attr-defined]
        lexical = bots[""]["none"].index.lexical  # type: ignore[attr-defined]
        calls["LexicalIndex.scores"] = lexical.scores
        ranker = bots[""]["static"].index  # type: ignore[attr-defined]
        calls["Ranker.semantic_scores, static"] = ranker.semantic_scores
        if baseline is not None:
            differ = {encoder: sum(
                bots[""][encoder].ask(q, top_k=5).to_dict()  # type: ignore[attr-defined]
                != bots[" (baseline)"][encoder].ask(q, top_k=5).to_dict()  # type: ignore
                for q in questions) for encoder in ENCODERS}
            print("answers that differ from the baseline's: "
                  + ", ".join(f"{e} {n} of {len(questions)}" for e, n in differ.items()))
        gc.collect()
        gc.freeze()
        times, collections = time_calls(calls, questions, rounds)
        gc.unfreeze()
    table = {name: t.row() for name, t in times.items()}
    bm = table["bm25s retrieve"]
    print("\n| call | p50 ms | p99 ms | p99 / p50 | CPU p50 ms | CPU p99 ms | quiet p50 ms "
          "| quiet p99 ms | quiet p99 / p50 | p50 / bm25s | quiet p50 / bm25s | vs baseline |")
    print("|---|" + "---:|" * 11)
    for name, row in table.items():
        base = table.get(f"{name} (baseline)") if "(baseline)" not in name else None
        vs = f"{row['quiet_p50'] / base['quiet_p50']:.2f}x" if base else "-"
        print(f"| {name} | {row['p50']:.2f} | {row['p99']:.2f} | {row['p99'] / row['p50']:.1f} "
              f"| {row['cpu_p50']:.2f} | {row['cpu_p99']:.2f} | {row['quiet_p50']:.2f} "
              f"| {row['quiet_p99']:.2f} | {row['quiet_p99'] / row['quiet_p50']:.1f} "
              f"| {row['p50'] / bm['p50']:.2f}x | {row['quiet_p50'] / bm['quiet_p50']:.2f}x "
              f"| {vs} |")
    calls_made = len(questions) * rounds * len(times)
    print(f"\n{len(collections)} garbage collections during {calls_made} timed calls, "
          f"longest {max(collections, default=0.0):.2f} ms")
    if show_profile:
        for encoder, bot in bots[""].items():
            print(f"\ncProfile, one round of ask, encoder {encoder}:\n```text")
            print(profile(bot, questions).strip())
            print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path,
                        help="a folder holding another qabot package to compare with")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    threadpool_limits(1)
    baseline = import_baseline(args.baseline) if args.baseline else None
    documents = load_corpus(ensure_source(), warn=lambda message: None)
    all_passages = split_documents(documents)
    print(f"# benchmarks/ask_profile.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} "
          f"UTC, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; qabot from "
          f"{Path(qabot.__file__).parent}"
          + (f", baseline from {Path(baseline.__file__).parent}" if baseline else ""))
    for size in (int(s) for s in args.sizes.split(",")):
        passages, _ = sized(all_passages, size)
        questions = make_questions(passages, args.questions)
        load = os.getloadavg()[0]
        print(f"\n## {len(passages)} passages, {len(questions)} questions, {args.rounds} "
              f"rounds; load average {load:.1f}", flush=True)
        run_size(passages, questions, baseline, args.rounds, args.profile)
        print(f"\nload average after: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
