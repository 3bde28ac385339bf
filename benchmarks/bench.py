"""Speed benchmark of qabot against the naive TF-IDF baseline it replaced.

Run from the repository root::

    python benchmarks/bench.py [--corpus corpus] [--questions corpus/iom.questions.jsonl]
                               [--repeat 5] [--build-repeat 5] [--scales 10,50] [--json]

Everything is measured in one run, on one machine, with :func:`time.perf_counter`:

* **Per question** (every ``question`` of the gold set, each asked ``--repeat`` times; one
  untimed warm-up pass first). The variants are interleaved round-robin per question, with
  the starting variant rotated, so machine noise hits all of them alike:

  1. ``baseline``: scikit-learn ``TfidfVectorizer()`` with its defaults, fitted on the
     blank-line paragraphs (``\\n\\s*\\n``) of the corpus file(s); per question
     ``transform`` + ``cosine_similarity`` against every paragraph + a full ``np.argsort``
     to take the top 1. This is the naive approach qabot replaced.
  2. ``index.search``: ``bot.index.search(question, 5)`` alone (both TF-IDF spaces, blend,
     partial top-5).
  3. ``QABot.ask``: ``bot.ask(question, top_k=5)`` end to end (validation, small talk,
     spelling correction, search, coverage guard and threshold, sentence highlight).
  4. ``POST /api/chat``: the same through Flask's test client
     (``create_app(bot=bot).test_client()``): request parsing, ask, JSON response.
     Skipped, with a note, when ``qabot.server`` does not import.

* **One-off costs** (median of ``--build-repeat`` rounds after one untimed run; the steps
  take turns like the variants above): the baseline's read + split + fit;
  ``QABot.from_path`` (corpus load + passage split + index build); ``Ranker.build``
  alone; ``index.save`` to a temp dir; ``Ranker.load`` from it;
  ``QABot.from_path(index_dir=...)`` reusing that saved index (a warm start: read + hash +
  load), and how load compares to build.

* **Scale**: the corpus written ``×N`` times under distinct names into a temp folder
  (``--scales``, default 10 and 50): cold build, warm start from a saved index and the
  baseline's build (median of ``--scale-build-repeat`` runs), and the median per-question
  latency of the baseline, ``index.search`` and ``QABot.ask`` (round-robin as above).

Tables give medians and p90 in milliseconds and ratios against the baseline. ``--json``
prints the same numbers as one JSON object instead. Only the project's own dependencies
are used (numpy, scikit-learn, flask; threadpoolctl, which scikit-learn installs, is used
when present to name the BLAS kernel).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # measure this checkout, installed or not

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.metrics.pairwise import cosine_similarity  # noqa: E402

import qabot  # noqa: E402
from qabot.answer import QABot, index_version  # noqa: E402
from qabot.documents import Document, corpus_hash, load_corpus  # noqa: E402
from qabot.errors import QABotError  # noqa: E402
from qabot.retrieval import Ranker  # noqa: E402

TOP_K = 5
PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
BASELINE = "baseline"
SEARCH = "index.search"
ASK = "QABot.ask"
HTTP = "POST /api/chat"


class BenchError(Exception):
    """A problem with the benchmark's inputs, reported as one line without a traceback."""


# ----------------------------------------------------------------------------- helpers


def stats(samples_s: Sequence[float]) -> dict[str, Any]:
    """Median, p90, min and max of ``samples_s`` (seconds), in milliseconds."""
    ms = np.asarray(samples_s, dtype=float) * 1000.0
    return {
        "n": int(ms.size),
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "min_ms": float(ms.min()),
        "max_ms": float(ms.max()),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def load_questions(path: Path) -> list[str]:
    if not path.is_file():
        raise BenchError(f"{path}: questions file not found (pass --questions PATH)")
    questions = []
    for lineno, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        question = item.get("question") if isinstance(item, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise BenchError(f"{path}:{lineno}: no non-empty \"question\" field")
        questions.append(question)
    if not questions:
        raise BenchError(f"{path}: no questions")
    return questions


def load_documents(path: Path) -> tuple[Document, ...]:
    if not path.exists():
        raise BenchError(f"{path}: corpus not found (pass --corpus FILE_OR_FOLDER)")
    try:
        return load_corpus(path)
    except QABotError as exc:
        raise BenchError(f"corpus: {exc}") from None


# ----------------------------------------------------------------------------- baseline


class Baseline:
    """The naive approach: default TF-IDF over blank-line paragraphs, cosine, full argsort."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.paragraphs = [
            p.strip() for d in documents for p in PARAGRAPH_SPLIT.split(d.text) if p.strip()
        ]
        self.vectorizer = TfidfVectorizer()
        self.matrix = self.vectorizer.fit_transform(self.paragraphs)

    @classmethod
    def from_path(cls, path: Path) -> Baseline:
        return cls(load_corpus(path))

    def ask(self, question: str) -> str:
        sims = cosine_similarity(self.vectorizer.transform([question]), self.matrix).ravel()
        return self.paragraphs[int(np.argsort(sims)[::-1][0])]


# ----------------------------------------------------------------------------- per question


def make_variants(bot: QABot, baseline: Baseline, *, http: bool) -> tuple[
        dict[str, Callable[[str], Any]], str | None]:
    """The per-question callables by name, and a note when the HTTP row is skipped."""
    variants: dict[str, Callable[[str], Any]] = {
        BASELINE: baseline.ask,
        SEARCH: lambda q: bot.index.search(q, TOP_K),
        ASK: lambda q: bot.ask(q, top_k=TOP_K),
    }
    if not http:
        return variants, None
    try:
        from qabot.server import create_app
    except Exception as exc:  # noqa: BLE001 - any import failure means "skip the row"
        return variants, (f"{HTTP} skipped: qabot.server does not import "
                          f"({type(exc).__name__}: {exc})")
    client = create_app(bot=bot).test_client()

    def post(question: str) -> bytes:
        response = client.post("/api/chat", json={"question": question, "top_k": TOP_K})
        data = response.data
        if response.status_code != 200:
            raise BenchError(f"{HTTP} answered {response.status_code} for {question!r}: "
                             f"{data[:200]!r}")
        return data

    variants[HTTP] = post
    return variants, None


def run_round_robin(
    variants: dict[str, Callable[[str], Any]], questions: Sequence[str], repeat: int
) -> dict[str, list[float]]:
    """Per-call times of every variant: one untimed warm-up pass, then ``repeat`` passes.

    In each pass, each question is put to every variant in turn; the variant that goes
    first rotates from one question to the next.
    """
    names = list(variants)
    for question in questions:  # warm-up: caches, lazy imports, first-call costs
        for name in names:
            variants[name](question)
    times: dict[str, list[float]] = {name: [] for name in names}
    perf = time.perf_counter
    gc.collect()
    turn = 0
    for _ in range(repeat):
        for question in questions:
            for j in range(len(names)):
                name = names[(turn + j) % len(names)]
                fn = variants[name]
                start = perf()
                fn(question)
                times[name].append(perf() - start)
            turn += 1
    return times


def per_question_table(times: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    rows = {name: stats(samples) for name, samples in times.items()}
    base = rows[BASELINE]["median_ms"]
    for row in rows.values():
        row["x_baseline"] = row["median_ms"] / base if base > 0 else float("nan")
    return rows


# ----------------------------------------------------------------------------- one-off


def run_steps(steps: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Times of each one-off step: one untimed run of each, then ``repeats`` rounds.

    Like the per-question variants, the steps take turns (round-robin, the first one
    rotating) so that a burst of load on the machine does not land on one step only.
    """
    names = list(steps)
    for name in names:
        steps[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for j in range(len(names)):
            name = names[(r + j) % len(names)]
            gc.collect()
            elapsed, _ = timed(steps[name])
            times[name].append(elapsed)
    return times


def one_off_costs(corpus: Path, documents: tuple[Document, ...], repeats: int,
                  workdir: Path) -> tuple[dict[str, dict[str, Any]], QABot, Baseline, int]:
    version = index_version()
    digest = corpus_hash(documents)
    bot = QABot.from_path(corpus)
    baseline = Baseline.from_path(corpus)
    index_dir = workdir / "index"
    bot.index.save(index_dir, version=version, corpus_hash=digest)
    encoder = bot.index.encoder
    loaded = Ranker.load(index_dir, version=version, corpus_hash=digest, encoder=encoder)
    if len(loaded) != len(bot.index):
        raise BenchError("Ranker.load returned another number of passages")
    times = run_steps({
        "baseline build (read + split + fit)": lambda: Baseline.from_path(corpus),
        "QABot.from_path (read + split + build)": lambda: QABot.from_path(corpus),
        "Ranker.build (from passages)": lambda: Ranker.build(bot.passages, encoder),
        "index.save": lambda: bot.index.save(index_dir, version=version, corpus_hash=digest),
        "Ranker.load": lambda: Ranker.load(index_dir, version=version, corpus_hash=digest,
                                           encoder=encoder),
        "QABot.from_path (saved index_dir)": lambda: QABot.from_path(corpus,
                                                                     index_dir=index_dir),
    }, repeats)
    rows = {name: stats(t) for name, t in times.items()}
    index_bytes = sum(f.stat().st_size for f in index_dir.iterdir())
    return rows, bot, baseline, index_bytes


# ----------------------------------------------------------------------------- scale


def replicate(documents: Sequence[Document], corpus: Path, factor: int, dest: Path) -> Path:
    """Write ``factor`` copies of every corpus file into ``dest`` under distinct names."""
    dest.mkdir(parents=True)
    root = corpus if corpus.is_dir() else corpus.parent
    for doc in documents:
        source = root / doc.name
        for i in range(1, factor + 1):
            name = Path(doc.name)
            target = dest / f"{name.stem}.copy{i:03d}{name.suffix}"
            shutil.copyfile(source, target)
    return dest


def scale_row(documents: Sequence[Document], corpus: Path, factor: int, questions: Sequence[str],
              repeat: int, build_repeat: int, workdir: Path) -> dict[str, Any]:
    folder = replicate(documents, corpus, factor, workdir / f"x{factor}")
    docs = load_corpus(folder)
    bot = QABot.from_path(folder)
    baseline = Baseline.from_path(folder)
    index_dir = workdir / f"x{factor}-index"
    bot.index.save(index_dir, version=index_version(), corpus_hash=corpus_hash(docs))
    t = run_steps({
        "build": lambda: QABot.from_path(folder),
        "baseline_build": lambda: Baseline.from_path(folder),
        "warm_start": lambda: QABot.from_path(folder, index_dir=index_dir),
    }, build_repeat)
    variants, _ = make_variants(bot, baseline, http=False)
    times = run_round_robin(variants, questions, repeat)
    return {
        "factor": factor,
        "corpus_bytes": sum(len(d.text.encode("utf-8")) for d in docs),
        "passages": len(bot.passages),
        "paragraphs": len(baseline.paragraphs),
        "build": stats(t["build"]),
        "baseline_build": stats(t["baseline_build"]),
        "warm_start": stats(t["warm_start"]),
        "per_question": per_question_table(times),
    }


# ----------------------------------------------------------------------------- facts


def machine_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "qabot": qabot.__version__,
    }
    try:
        import scipy

        facts["scipy"] = scipy.__version__
    except ImportError:
        pass
    try:
        facts["flask"] = metadata.version("flask")
    except metadata.PackageNotFoundError:
        facts["flask"] = None
    try:
        facts["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        pass
    facts["env"] = {k: v for k, v in sorted(os.environ.items())
                    if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}
    try:
        from threadpoolctl import threadpool_info

        facts["threadpools"] = [
            {k: info.get(k) for k in ("user_api", "internal_api", "version", "architecture",
                                       "num_threads", "threading_layer") if info.get(k)}
            for info in threadpool_info()
        ]
    except ImportError:
        facts["threadpools"] = None
    return facts


# ----------------------------------------------------------------------------- report


def _fmt(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def render(result: dict[str, Any]) -> str:
    out: list[str] = []
    m = result["machine"]
    out.append(f"qabot speed benchmark, {m['date']}")
    out.append(f"python {m['python']} ({m['implementation']}), numpy {m['numpy']}, "
               f"scipy {m.get('scipy', '?')}, scikit-learn {m['scikit-learn']}, "
               f"flask {m.get('flask') or '-'}, qabot {m['qabot']}")
    out.append(f"{m['platform']}, os.cpu_count() = {m['cpu_count']}"
               + (f", load average at start {m['loadavg_at_start']}"
                  if "loadavg_at_start" in m else ""))
    if m.get("threadpools"):
        for pool in m["threadpools"]:
            out.append("  threadpool: " + ", ".join(f"{k}={v}" for k, v in pool.items()))
    elif m.get("threadpools") is None:
        out.append("  threadpool: (threadpoolctl not installed)")
    if m["env"]:
        out.append("  env: " + " ".join(f"{k}={v}" for k, v in m["env"].items()))
    c = result["corpus"]
    out.append(f"corpus {c['path']}: {c['documents']} document(s), {c['bytes']} bytes, "
               f"{c['passages']} qabot passages, {c['paragraphs']} baseline paragraphs")
    out.append(f"questions {c['questions_path']}: {c['questions']} × {result['repeat']} "
               f"repeats per variant, round-robin, warm-up excluded, top_k={TOP_K}")
    out.append("")

    out.append("Per question (ms)")
    rows = result["per_question"]
    out.append(f"| {'variant':<16} | {'n':>5} | {'median':>7} | {'p90':>7} | {'× baseline':>10} |")
    out.append(f"|{'-' * 18}|{'-' * 6}:|{'-' * 8}:|{'-' * 8}:|{'-' * 11}:|")
    for name, r in rows.items():
        out.append(f"| {name:<16} | {r['n']:>5} | {_fmt(r['median_ms']):>7} | "
                   f"{_fmt(r['p90_ms']):>7} | {r['x_baseline']:>9.1f}× |")
    for note in result["notes"]:
        out.append(f"note: {note}")
    out.append("")
    base = rows[BASELINE]["median_ms"]
    for name in (SEARCH, ASK, HTTP):
        if name in rows:
            out.append(f"{name} is {rows[name]['x_baseline']:.1f}× the baseline's per-question "
                       f"time ({_fmt(rows[name]['median_ms'])} ms vs {_fmt(base)} ms median)")
    if HTTP in rows:
        extra = rows[HTTP]["median_ms"] - rows[ASK]["median_ms"]
        out.append(f"the HTTP layer adds {_fmt(extra)} ms to ask's median")
    out.append("")

    out.append(f"One-off costs (ms, median of {result['build_repeat']} round-robin rounds "
               "after a warm-up run)")
    out.append(f"| {'step':<40} | {'median':>7} | {'min':>7} | {'max':>7} |")
    out.append(f"|{'-' * 42}|{'-' * 8}:|{'-' * 8}:|{'-' * 8}:|")
    for name, r in result["one_off"].items():
        out.append(f"| {name:<40} | {_fmt(r['median_ms']):>7} | {_fmt(r['min_ms']):>7} | "
                   f"{_fmt(r['max_ms']):>7} |")
    o = result["one_off_ratios"]
    out.append(f"saved index: {o['index_bytes']} bytes; Ranker.load is "
               f"{o['load_vs_build']:.2f}× Ranker.build; a warm start "
               f"(from_path with index_dir) is {o['warm_vs_cold']:.2f}× a cold from_path; "
               f"qabot's cold start is {o['build_vs_baseline']:.1f}× the baseline's build")
    out.append("")

    if result["scale"]:
        out.append("Scale: the corpus replicated ×N (ms; builds and warm starts: median of "
                   f"{result['scale_build_repeat']} (×1: {result['build_repeat']}); "
                   "per question: median over "
                   f"{c['questions']} × {result['repeat']})")
        out.append(f"| {'×N':>4} | {'bytes':>9} | {'passages':>8} | {'from_path':>9} | "
                   f"{'warm start':>10} | {'baseline build':>14} | {'baseline':>8} | "
                   f"{'search':>7} | {'ask':>7} | {'ask × base':>10} |")
        out.append(f"|{'-' * 5}:|{'-' * 10}:|{'-' * 9}:|{'-' * 10}:|{'-' * 11}:|{'-' * 15}:|"
                   f"{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 11}:|")
        one = result["one_off"]
        main_row = {
            "factor": 1, "corpus_bytes": c["bytes"], "passages": c["passages"],
            "build": one["QABot.from_path (read + split + build)"],
            "warm_start": one["QABot.from_path (saved index_dir)"],
            "baseline_build": one["baseline build (read + split + fit)"],
            "per_question": rows,
        }
        for s in [main_row, *result["scale"]]:
            pq = s["per_question"]
            out.append(
                f"| {s['factor']:>4} | {s['corpus_bytes']:>9} | {s['passages']:>8} | "
                f"{_fmt(s['build']['median_ms']):>9} | {_fmt(s['warm_start']['median_ms']):>10} | "
                f"{_fmt(s['baseline_build']['median_ms']):>14} | "
                f"{_fmt(pq[BASELINE]['median_ms']):>8} | {_fmt(pq[SEARCH]['median_ms']):>7} | "
                f"{_fmt(pq[ASK]['median_ms']):>7} | {pq[ASK]['x_baseline']:>9.1f}× |"
            )
        out.append("(×1 repeats the main run's numbers; from_path = cold QABot.from_path, "
                   "warm start = from_path with a saved index_dir)")
    out.append(f"total benchmark wall time {result['wall_s']:.0f} s")
    return "\n".join(out)


# ----------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time qabot (index.search, QABot.ask, POST /api/chat, build, load, "
                    "scale) against a plain TF-IDF baseline, in one run.")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus",
                        help="corpus file or folder (default: the repository's corpus/)")
    parser.add_argument("--questions", type=Path, default=ROOT / "corpus" / "iom.questions.jsonl",
                        help="gold set, one JSON object with a \"question\" field a line")
    parser.add_argument("--repeat", type=int, default=5,
                        help="times each question is asked per variant (default 5)")
    parser.add_argument("--build-repeat", type=int, default=5,
                        help="timed runs of each one-off step (default 5)")
    parser.add_argument("--scale-build-repeat", type=int, default=3,
                        help="timed builds and warm starts per scale row (default 3)")
    parser.add_argument("--scales", default="10,50",
                        help="corpus replication factors for the scale rows, comma separated; "
                             "'' or 0 to skip (default 10,50)")
    parser.add_argument("--no-http", action="store_true", help="skip the POST /api/chat row")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)
    if min(args.repeat, args.build_repeat, args.scale_build_repeat) < 1:
        parser.error("--repeat, --build-repeat and --scale-build-repeat must be at least 1")
    try:
        args.scales = [int(x) for x in str(args.scales).split(",") if x.strip() and int(x) > 1]
    except ValueError:
        parser.error(f"--scales must be comma-separated integers, got {args.scales!r}")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    wall = time.perf_counter()
    facts = machine_facts()
    corpus = args.corpus
    documents = load_documents(corpus)
    questions = load_questions(args.questions)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="qabot-bench-") as tmp:
        workdir = Path(tmp)
        one_off, bot, baseline, index_bytes = one_off_costs(corpus, documents,
                                                            args.build_repeat, workdir)
        variants, note = make_variants(bot, baseline, http=not args.no_http)
        if note:
            notes.append(note)
        elif args.no_http:
            notes.append(f"{HTTP} skipped: --no-http")
        times = run_round_robin(variants, questions, args.repeat)
        per_question = per_question_table(times)
        scale = [
            scale_row(documents, corpus, factor, questions, args.repeat,
                      args.scale_build_repeat, workdir)
            for factor in args.scales
        ]
    build = one_off["Ranker.build (from passages)"]["median_ms"]
    cold = one_off["QABot.from_path (read + split + build)"]["median_ms"]
    return {
        "machine": facts,
        "corpus": {
            "path": str(corpus),
            "documents": len(documents),
            "bytes": sum(len(d.text.encode("utf-8")) for d in documents),
            "passages": len(bot.passages),
            "paragraphs": len(baseline.paragraphs),
            "questions_path": str(args.questions),
            "questions": len(questions),
        },
        "repeat": args.repeat,
        "build_repeat": args.build_repeat,
        "scale_build_repeat": args.scale_build_repeat,
        "top_k": TOP_K,
        "per_question": per_question,
        "notes": notes,
        "one_off": one_off,
        "one_off_ratios": {
            "index_bytes": index_bytes,
            "load_vs_build": one_off["Ranker.load"]["median_ms"] / build,
            "warm_vs_cold": one_off["QABot.from_path (saved index_dir)"]["median_ms"] / cold,
            "build_vs_baseline": cold
            / one_off["baseline build (read + split + fit)"]["median_ms"],
        },
        "scale": scale,
        "wall_s": time.perf_counter() - wall,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except BenchError as exc:
        print(f"bench.py: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
