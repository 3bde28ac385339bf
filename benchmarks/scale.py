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

For each size it prints, in one run on one machine: qabot's build (TF-IDF, then the static
encoder's embeddings), save and load times; ``QABot.ask`` p50/p99 with encoder ``none``
and ``static``, and ``LexicalIndex.scores`` alone, each through the question's postings
(now) and through the full passage-by-feature product (before: ``full_matrix_scores``,
asked alternately with the new path so both see the same machine load); bm25s (retrieve
top 5, tokenizing the question included) and rank_bm25 (``get_scores`` and top 5, the
question tokenized by qabot's analyser) build times and p50/p99. Ratios are to bm25s's p50.
BLAS is limited to one thread, as each ``qabot serve`` worker limits it: on a busy machine
a second BLAS thread that must be woken for each small product costs milliseconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import random
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
from qabot.retrieval.lexical import LexicalIndex, indexed_text, word_tokens

SOURCE = Path("/usr/share/doc/python3.11/html/_sources")
PACKAGE = "python3.11-doc"


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


def run_size(passages: tuple[Passage, ...], questions: list[str], rank_questions: int,
             copies: int) -> tuple[list[tuple[str, float, float]], list[tuple[str, float]]]:
    """Latency rows ``(name, p50, p99)`` and build rows ``(name, seconds)`` for one size."""
    import bm25s
    import Stemmer
    from rank_bm25 import BM25Okapi

    builds: list[tuple[str, float]] = []
    start = time.perf_counter()
    lexical = LexicalIndex.build(passages)
    builds.append(("qabot build, TF-IDF (encoder none)", time.perf_counter() - start))
    encoder = load_encoder("static")
    start = time.perf_counter()
    static = Ranker(lexical, encoder)
    builds.append(("qabot build, static embeddings on top", time.perf_counter() - start))
    with tempfile.TemporaryDirectory() as tmp:
        builds.append(("qabot save (static)", timed(
            lambda: static.save(tmp, version="bench", corpus_hash="bench"))))
        builds.append(("qabot load (static, warm cache)", timed(
            lambda: Ranker.load(tmp, version="bench", corpus_hash="bench", encoder=encoder))))
    bots = {"none": QABot(Ranker(lexical)), "static": QABot(static)}

    texts = [indexed_text(p) for p in passages]
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()

    def build_bm25s() -> None:
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
        retriever.index(tokens, show_progress=False)

    builds.append(("bm25s build (tokenize + index)", timed(build_bm25s)))
    holder: dict[str, BM25Okapi] = {}
    builds.append(("rank_bm25 build (tokenize + index)", timed(
        lambda: holder.setdefault("bm", BM25Okapi([word_tokens(t) for t in texts])))))
    rank = holder["bm"]

    def bm25s_ask(question: str) -> object:
        query = bm25s.tokenize([question], stopwords="en", stemmer=stemmer,
                               show_progress=False)
        return retriever.retrieve(query, k=5, show_progress=False)

    def rank_ask(question: str) -> object:
        scores = rank.get_scores(word_tokens(question))
        return np.argpartition(-scores, 5)[:5]

    calls = {
        "qabot ask, none, postings": lambda q: bots["none"].ask(q, top_k=5),
        "qabot ask, none, full matrix (before)": full_matrix(bots["none"]),
        "qabot ask, static, postings": lambda q: bots["static"].ask(q, top_k=5),
        "qabot ask, static, full matrix (before)": full_matrix(bots["static"]),
        "LexicalIndex.scores, postings": lexical.scores,
        "LexicalIndex.scores, full matrix (before)": lexical.full_matrix_scores,
        "bm25s retrieve": bm25s_ask,
    }
    times = latencies(calls, questions)
    times.update(latencies({"rank_bm25 get_scores": rank_ask}, questions[:rank_questions]))
    rows = [(name, p(t, 50), p(t, 99)) for name, t in times.items()]
    return rows, builds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--rank-bm25-questions", type=int, default=50,
                        help="rank_bm25 scores every passage in Python: fewer questions")
    args = parser.parse_args()
    threadpool_limits(1)
    source = ensure_source()
    start = time.perf_counter()
    documents = load_corpus(source, warn=lambda message: None)
    all_passages = split_documents(documents)
    split = time.perf_counter() - start
    print(f"# benchmarks/scale.py, {datetime.date.today()}, {os.cpu_count()} CPUs")
    print(f"source: {source} ({len(documents)} files, {len(all_passages)} passages, "
          f"read and split in {split:.1f} s)\n")
    for size in (int(s) for s in args.sizes.split(",")):
        passages, copies = sized(all_passages, size)
        questions = make_questions(passages, args.questions)
        rows, builds = run_size(passages, questions, args.rank_bm25_questions, copies)
        base = next(p50 for name, p50, _ in rows if name == "bm25s retrieve")
        note = f", the corpus {copies} times" if copies > 1 else ""
        print(f"## {len(passages)} passages{note}; {len(questions)} questions "
              f"(rank_bm25: {min(len(questions), args.rank_bm25_questions)})\n")
        print("| engine | p50 ms | p99 ms | p50 / bm25s p50 |")
        print("|---|---:|---:|---:|")
        for name, p50, p99 in rows:
            print(f"| {name} | {p50:.2f} | {p99:.2f} | {p50 / base:.1f}x |")
        print("\n| build step | seconds |")
        print("|---|---:|")
        for name, seconds in builds:
            print(f"| {name} | {seconds:.2f} |")
        print(flush=True)


if __name__ == "__main__":
    main()
