"""The TF-IDF fit's CPU seconds stage by stage, two checkouts side by side, and bm25s's.

Run from the repository root (``pip install -e ".[bench]"`` first)::

    git archive main | tar -x -C /tmp/main          # the version to compare against
    python benchmarks/fit_speed.py --before /tmp/main [--sizes 10000,100000] [--repeats 3]

The passages are ``benchmarks/scale.py``'s (the Python 3.11 documentation's sources cut by
qabot's splitter, the corpus repeated under other names beyond its size). For each size
and repeat, in turn and in alternating order, a fresh process builds ``LexicalIndex.build``
with this checkout's code (``after``), one with ``--before``'s code (``before``, through
``PYTHONPATH``), and one runs bm25s's tokenize + index on the same texts. Each reports its
CPU seconds (``time.process_time``, BLAS limited to one thread) for the whole build and for
each stage of the fit, and its peak resident memory (``ru_maxrss``) with the resident
size before the build (the passages read). The tables give the medians over the repeats.

The stages are told apart by wrapping the functions the fit calls in order (the stemmer's
construction ends the fields' analysis, the first idf ends the word counts, and so on; the
idf is ``_idf_of``'s where it exists, ``_idf``'s before), so the fit itself is not changed
to be measured: ``fields`` (each distinct field normalised and split into word ids),
``word counts`` (stems, keys, vocabulary and count matrices), ``word idf and norms`` (with
packing the word postings), ``n-grams`` (``ngram_word_counts``), ``char counts``
(everything from there to the character idf: the passages' character counts) and ``char
sections and norms`` (the rest of the fit). ``build, outside fit`` is
``LexicalIndex.build``'s own work around the fit.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

STAGES = ("build, outside fit", "fields", "word counts", "word idf and norms", "n-grams",
          "char counts", "char sections and norms")


def _qabot_child(passages: list) -> dict[str, object]:  # type: ignore[type-arg]
    import qabot.retrieval.lexical as lexical
    import qabot.retrieval.tfidf as tfidf

    marks: list[tuple[str, float]] = []

    def mark(name: str) -> None:
        marks.append((name, time.process_time()))

    def wrapped(function: Callable, before: str | None, after: str | None) -> Callable:
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            if before:
                mark(before)
            result = function(*args, **kwargs)
            if after:
                mark(after)
            return result
        return call

    class _Stemmer:  # the stemmer module as the fit sees it: its construction is a mark
        @staticmethod
        def Stemmer(language: str):  # type: ignore[no-untyped-def]  # noqa: N802
            mark("fields")
            return real_stemmer.Stemmer(language)

    real_stemmer = tfidf.Stemmer
    tfidf.Stemmer = _Stemmer  # type: ignore[assignment]
    idf_calls = []

    def idf(*args, **kwargs):  # type: ignore[no-untyped-def]
        idf_calls.append(1)
        mark("word counts" if len(idf_calls) == 1 else "char counts")
        return real_idf(*args, **kwargs)

    # The idf of each space, computed once each: by _idf_of where there is one (_idf calls
    # it), else by _idf.
    idf_name = "_idf_of" if hasattr(tfidf, "_idf_of") else "_idf"
    real_idf = getattr(tfidf, idf_name)
    setattr(tfidf, idf_name, idf)
    tfidf.ngram_word_counts = wrapped(tfidf.ngram_word_counts, "word idf and norms", "n-grams")
    lexical.fit = wrapped(lexical.fit, "build, outside fit", "char sections and norms")
    from threadpoolctl import threadpool_limits

    from qabot.passages import Passage

    threadpool_limits(1)
    passages = tuple(Passage(**{**p, "parents": tuple(p["parents"])}) for p in passages)
    rss = _rss()
    start = time.process_time()
    lexical.LexicalIndex.build(passages)
    total = time.process_time() - start
    stages = dict.fromkeys(STAGES, 0.0)
    previous = start
    for name, at in marks:
        stages[name] += at - previous
        previous = at
    stages["build, outside fit"] += start + total - previous
    return {"cpu_seconds": total, "stages": stages, "rss_before": rss,
            "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "qabot": lexical.__file__}


def _bm25s_child(passages: list) -> dict[str, object]:  # type: ignore[type-arg]
    import bm25s
    import Stemmer
    from threadpoolctl import threadpool_limits

    from qabot.passages import Passage
    from qabot.retrieval.lexical import indexed_text

    threadpool_limits(1)
    texts = [indexed_text(Passage(**{**p, "parents": tuple(p["parents"])})) for p in passages]
    stemmer = Stemmer.Stemmer("english")
    rss = _rss()
    start = time.process_time()
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)
    return {"cpu_seconds": time.process_time() - start, "rss_before": rss,
            "max_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_child(engine: str, passages_file: Path, before: Path | None) -> dict[str, object]:
    env = dict(os.environ)
    if engine == "before":
        assert before is not None
        env["PYTHONPATH"] = str(before)
    done = subprocess.run([sys.executable, __file__, "--child", engine, str(passages_file)],
                          check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.splitlines()[-1])


def report(size: int, runs: dict[str, list[dict]]) -> None:  # type: ignore[type-arg]
    def median(engine: str, get: Callable[[dict], float]) -> float:  # type: ignore[type-arg]
        return statistics.median(get(r) for r in runs[engine])

    engines = [e for e in ("before", "after") if runs.get(e)]
    base = median("bm25s", lambda r: r["cpu_seconds"])
    print(f"## {size} passages, medians of {len(runs['bm25s'])} runs\n")
    print("| CPU s | " + " | ".join(engines) + " |")
    print("|---|" + "---:|" * len(engines))
    for stage in STAGES:
        cells = [f"{median(e, lambda r, s=stage: r['stages'][s]):.2f}" for e in engines]
        print(f"| {stage} | " + " | ".join(cells) + " |")
    cells = [f"**{median(e, lambda r: r['cpu_seconds']):.2f}**" for e in engines]
    print("| **LexicalIndex.build** | " + " | ".join(cells) + " |")
    cells = [f"{median(e, lambda r: r['cpu_seconds']) / base:.2f}x" for e in engines]
    print(f"| ratio to bm25s ({base:.2f} s) | " + " | ".join(cells) + " |")
    mb = 1 << 20
    for label, key in (("peak RSS MB (ru_maxrss)", "max_rss"),
                       ("RSS before build MB", "rss_before")):
        cells = [f"{median(e, lambda r, k=key: r[k]) / mb:.0f}" for e in engines]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\nbm25s: {base:.2f} s CPU, peak RSS "
          f"{median('bm25s', lambda r: r['max_rss']) / mb:.0f} MB "
          f"(before {median('bm25s', lambda r: r['rss_before']) / mb:.0f} MB)\n", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path,
                        help="a checkout (e.g. git archive main) whose qabot to compare with")
    parser.add_argument("--json", type=Path, help="also write every run's numbers here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, passages_file = args.child
        passages = json.loads(Path(passages_file).read_text("utf-8"))
        out = _bm25s_child(passages) if engine == "bm25s" else _qabot_child(passages)
        print(json.dumps(out))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scale import ensure_source, sized

    from qabot.documents import load_corpus
    from qabot.passages import split_documents

    all_passages = split_documents(load_corpus(ensure_source(), warn=lambda message: None))
    print(f"# benchmarks/fit_speed.py, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} "
          f"UTC, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{len(all_passages)} passages in the source; before: {args.before}\n")
    engines = ["after", "bm25s"] + (["before"] if args.before else [])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            passages, _ = sized(all_passages, size)
            passages_file = Path(tmp) / f"passages{size}.json"
            passages_file.write_text(json.dumps([dataclasses.asdict(p) for p in passages]))
            runs: dict[str, list[dict]] = {e: [] for e in engines}  # type: ignore[type-arg]
            for repeat in range(args.repeats):
                for engine in engines if repeat % 2 == 0 else engines[::-1]:
                    runs[engine].append(run_child(engine, passages_file, args.before))
            print(f"load average now {os.getloadavg()[0]:.1f}")
            report(size, runs)
            results[size] = runs
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
