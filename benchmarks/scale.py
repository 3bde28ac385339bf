"""qabot against bm25s and rank_bm25 on about 1k, 10k and 100k passages of real English prose.

Run from the repository root (``pip install -e ".[bench]"`` first)::

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--questions 200]

The prose is the reStructuredText source of the Python 3.11 documentation as Debian ships
it in ``python3.11-doc`` (``/usr/share/doc/python3.11/html/_sources``, PSF License); the
script installs the package with apt-get when it is missing and it runs as root. qabot's
own reader and splitter cut it into passages (about 57k); a size beyond that repeats the
whole corpus under other document names, and the table says how many copies were used.
Every engine gets the same passages (each passage's indexed text: its headings and its
text) and the same questions: a window of 4 to 8 words from each of ``--questions``
passages drawn at random (seed 0), as a reader who half-remembers a sentence would type.

For each size it prints, in one run on one machine, with the load average before and
after:

* **builds**, each engine in a fresh child process (``--child``) from the same passages:
  wall and CPU seconds, the peak memory the build added (``VmHWM`` reset after the
  passages are read, minus ``VmRSS`` then), the saved index on disk, and the time to load
  it back in another fresh process. qabot's ``Ranker.build`` with encoder ``none`` and
  ``static`` (the embeddings included: the static model's own load is not counted),
  ``Ranker.save`` and ``Ranker.load``; bm25s's tokenize + index, ``save`` (with and
  without its copy of the corpus: qabot's index holds the passages) and ``load``
  (``mmap=True``); rank_bm25's tokenize + index (it has no file format).
* **latency**: ``QABot.ask`` p50/p99 with encoder ``none`` and ``static`` (the indexes the
  child processes saved, loaded as ``qabot serve`` loads them), ``LexicalIndex.scores``
  alone, bm25s (retrieve top 5, tokenizing the question included) and rank_bm25
  (``get_scores`` and top 5, the question tokenized by qabot's analyser), asked
  question by question in turn. ``--before`` adds the full passage-by-feature product
  (``full_matrix_scores``), the path before scoring went through the postings.

Ratios are to bm25s. ``--json PATH`` also writes every number (``benchmarks/plot_scale.py``
draws the growth plot from it). BLAS is limited to one thread, as each ``qabot serve``
worker limits it: on a busy machine a second BLAS thread that must be woken for each small
product costs milliseconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from qabot import QABot
from qabot.documents import load_corpus
from qabot.passages import Passage, split_documents
from qabot.retrieval import Ranker, load_encoder
from qabot.retrieval.lexical import indexed_text, word_tokens

SOURCE = Path("/usr/share/doc/python3.11/html/_sources")
PACKAGE = "python3.11-doc"
ENGINES = ("qabot none", "qabot static", "bm25s", "rank_bm25")


def ensure_source() -> Path:
    """The documentation sources, installed from Debian when missing and allowed."""
    if not SOURCE.is_dir() and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", PACKAGE], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not SOURCE.is_dir():
        sys.exit(f"{SOURCE} is missing: install Debian's {PACKAGE} (apt-get install {PACKAGE})")
    return SOURCE


def sized(passages: tuple[Passage, ...], size: int) -> tuple[tuple[Passage, ...], int]:
    """The first ``size`` passages, repeating the corpus under new document names when it
    is too small; with the number of copies used."""
    copies = -(-size // len(passages))
    out = list(passages)
    for copy in range(1, copies):
        out += [dataclasses.replace(p, document=f"copy{copy}/{p.document}") for p in passages]
    return tuple(out[:size]), copies


def make_questions(passages: tuple[Passage, ...], count: int) -> list[str]:
    """A window of 4-8 words from each of ``count`` random passages (seed 0)."""
    rng = random.Random(0)
    questions = []
    while len(questions) < count:
        words = rng.choice(passages).text.split()
        if len(words) < 8:
            continue
        width = rng.randint(4, 8)
        start = rng.randrange(len(words) - width + 1)
        questions.append(" ".join(words[start:start + width]))
    return questions


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def latencies(calls: dict[str, Callable[[str], object]], questions: list[str],
              warmup: int = 5) -> dict[str, list[float]]:
    """Milliseconds per question for each call, the calls alternating question by question."""
    for call in calls.values():
        for question in questions[:warmup]:
            call(question)
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, question in enumerate(questions):
        for name in names if i % 2 == 0 else names[::-1]:
            times[name].append(1000 * timed(lambda c=calls[name], q=question: c(q)))
    return times


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def full_matrix(bot: QABot) -> Callable[[str], object]:
    """``bot.ask`` with the lexical scores taken by the full-matrix product (the old path)."""
    lexical = bot.index.lexical

    def ask(question: str) -> object:
        lexical.scores = lexical.full_matrix_scores  # type: ignore[method-assign]
        try:
            return bot.ask(question, top_k=5)
        finally:
            del lexical.scores

    return ask


# --- one engine's build, save and load, in a fresh process --------------------------------

def _memory(field: str) -> int:
    """A ``/proc/self/status`` memory figure in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> None:
    """Start VmHWM again from the current resident size (Linux ``clear_refs`` 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def _measured(function: Callable[[], object]) -> tuple[object, dict[str, float]]:
    """``function()`` with its wall and CPU seconds and the peak memory it added (bytes)."""
    _reset_peak()
    base = _memory("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return result, {"seconds": wall, "cpu_seconds": cpu, "peak_bytes": _memory("VmHWM") - base}


def _disk(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def child(engine: str, passages_file: Path, folder: Path, stage: str) -> dict[str, object]:
    """Build (``stage`` build) or load (``stage`` load) one engine's index in this process."""
    threadpool_limits(1)
    passages = tuple(Passage(**{**p, "parents": tuple(p["parents"])})
                     for p in json.loads(passages_file.read_text("utf-8")))
    texts = [indexed_text(p) for p in passages]
    if engine.startswith("qabot"):
        encoder = load_encoder(engine.split()[1])
        if stage == "build":
            index, out = _measured(lambda: Ranker.build(passages, encoder))
            out["save_seconds"] = timed(lambda: index.save(folder, version="bench",
                                                          corpus_hash="bench"))
            out["disk_bytes"] = _disk(folder)
            return out
        index, out = _measured(lambda: Ranker.load(folder, version="bench",
                                                   corpus_hash="bench", encoder=encoder))
        out["bot_seconds"] = timed(lambda: QABot(index))
        return out
    if engine == "bm25s":
        import bm25s
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
        if stage == "build":
            def build() -> object:
                retriever = bm25s.BM25()
                retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer,
                                               show_progress=False), show_progress=False)
                return retriever
            retriever, out = _measured(build)
            out["save_seconds"] = timed(lambda: retriever.save(folder / "index",
                                                               show_progress=False))
            retriever.save(folder / "with_corpus", corpus=texts, show_progress=False)
            out["disk_bytes"] = _disk(folder / "index")
            out["disk_with_corpus_bytes"] = _disk(folder / "with_corpus")
            return out
        _, out = _measured(lambda: bm25s.BM25.load(folder / "index", mmap=True,
                                                   show_progress=False))
        return out
    from rank_bm25 import BM25Okapi

    _, out = _measured(lambda: BM25Okapi([word_tokens(t) for t in texts]))
    return out


def run_child(engine: str, passages_file: Path, folder: Path, stage: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", engine, str(passages_file), str(folder), stage],
        check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


# --- one size --------------------------------------------------------------------------------

def run_size(passages: tuple[Passage, ...], questions: list[str], rank_questions: int,
             before: bool) -> dict[str, object]:
    """Builds, loads and latencies of every engine for one size."""
    import bm25s
    import Stemmer
    from rank_bm25 import BM25Okapi

    builds: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        passages_file = root / "passages.json"
        passages_file.write_text(json.dumps([dataclasses.asdict(p) for p in passages]),
                                 "utf-8")
        for engine in ENGINES:
            folder = root / engine.replace(" ", "_")
            folder.mkdir()
            builds[engine] = run_child(engine, passages_file, folder, "build")
            if engine != "rank_bm25":
                builds[engine]["load"] = run_child(engine, passages_file, folder, "load")
        static_encoder = load_encoder("static")
        static = Ranker.load(root / "qabot_static", version="bench", corpus_hash="bench",
                             encoder=static_encoder)
        none = Ranker.load(root / "qabot_none", version="bench", corpus_hash="bench",
                           encoder=None)
        retriever = bm25s.BM25.load(root / "bm25s" / "index", mmap=True, show_progress=False)
        bots = {"none": QABot(none), "static": QABot(static)}
        texts = [indexed_text(p) for p in passages]
        rank = BM25Okapi([word_tokens(t) for t in texts])
        stemmer = Stemmer.Stemmer("english")

        def bm25s_ask(question: str) -> object:
            query = bm25s.tokenize([question], stopwords="en", stemmer=stemmer,
                                   show_progress=False)
            return retriever.retrieve(query, k=5, show_progress=False)

        def rank_ask(question: str) -> object:
            scores = rank.get_scores(word_tokens(question))
            return np.argpartition(-scores, 5)[:5]

        calls: dict[str, Callable[[str], object]] = {
            "qabot ask, none": lambda q: bots["none"].ask(q, top_k=5),
            "qabot ask, static": lambda q: bots["static"].ask(q, top_k=5),
            "LexicalIndex.scores": none.lexical.scores,
            "bm25s retrieve": bm25s_ask,
        }
        if before:
            calls["qabot ask, none, full matrix (before)"] = full_matrix(bots["none"])
            calls["LexicalIndex.scores, full matrix (before)"] = none.lexical.full_matrix_scores
        times = latencies(calls, questions)
        times.update(latencies({"rank_bm25 get_scores": rank_ask}, questions[:rank_questions]))
    return {"passages": len(passages), "builds": builds,
            "latency": {name: {"p50": p(t, 50), "p99": p(t, 99), "n": len(t)}
                        for name, t in times.items()}}


def report(result: dict[str, object]) -> None:
    """The size's two tables, in Markdown."""
    latency = result["latency"]
    base = latency["bm25s retrieve"]["p50"]
    print("| engine | p50 ms | p99 ms | p99 / p50 | p50 / bm25s p50 |")
    print("|---|---:|---:|---:|---:|")
    for name, row in latency.items():
        print(f"| {name} | {row['p50']:.2f} | {row['p99']:.2f} | {row['p99'] / row['p50']:.1f} "
              f"| {row['p50'] / base:.2f}x |")
    builds = result["builds"]
    anchor = builds["bm25s"]
    mb = 1e6
    print("\n| engine | build s | build CPU s | build / bm25s | build peak MB | peak / bm25s "
          "| save s | on disk MB | disk / bm25s (with corpus) | load s | load CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for engine, b in builds.items():
        load = b.get("load", {})
        disk = (f"{b['disk_bytes'] / mb:.1f}" if "disk_bytes" in b else "-")
        ratio = (f"{b['disk_bytes'] / anchor['disk_bytes']:.1f}x "
                 f"({b['disk_bytes'] / anchor['disk_with_corpus_bytes']:.1f}x)"
                 if "disk_bytes" in b else "-")
        if engine == "bm25s":
            disk += f" ({b['disk_with_corpus_bytes'] / mb:.1f})"
        print(f"| {engine} | {b['seconds']:.2f} | {b['cpu_seconds']:.2f} "
              f"| {b['seconds'] / anchor['seconds']:.2f}x | {b['peak_bytes'] / mb:.0f} "
              f"| {b['peak_bytes'] / anchor['peak_bytes']:.1f}x "
              f"| {b.get('save_seconds', float('nan')):.2f} | {disk} | {ratio} "
              f"| {load.get('seconds', float('nan')):.2f} "
              f"| {load.get('cpu_seconds', float('nan')):.2f} |")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--rank-bm25-questions", type=int, default=50,
                        help="rank_bm25 scores every passage in Python: fewer questions")
    parser.add_argument("--before", action="store_true",
                        help="also time the full-matrix product (the path before postings)")
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, passages_file, folder, stage = args.child
        print(json.dumps(child(engine, Path(passages_file), Path(folder), stage)))
        return
    threadpool_limits(1)
    source = ensure_source()
    start = time.perf_counter()
    documents = load_corpus(source, warn=lambda message: None)
    all_passages = split_documents(documents)
    split = time.perf_counter() - start
    print(f"# benchmarks/scale.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"source: {source} ({len(documents)} files, {len(all_passages)} passages, "
          f"read and split in {split:.1f} s)\n")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        passages, copies = sized(all_passages, size)
        questions = make_questions(passages, args.questions)
        load_before = os.getloadavg()[0]
        result = run_size(passages, questions, args.rank_bm25_questions, args.before)
        result.update(copies=copies, load_average=[load_before, os.getloadavg()[0]],
                      questions=len(questions))
        results.append(result)
        note = f", the corpus {copies} times" if copies > 1 else ""
        print(f"## {len(passages)} passages{note}; {len(questions)} questions "
              f"(rank_bm25: {min(len(questions), args.rank_bm25_questions)}); load average "
              f"{load_before:.1f} -> {os.getloadavg()[0]:.1f}\n")
        report(result)
    print(f"parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({"date": datetime.datetime.now(datetime.UTC).isoformat(),
                                         "cpus": os.cpu_count(), "sizes": results}, indent=1))


if __name__ == "__main__":
    main()
