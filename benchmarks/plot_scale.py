"""The growth plot of docs/speed.md: latency and build time against corpus size.

Run from the repository root (``pip install -e ".[bench,plot]"`` first)::

    python benchmarks/scale.py --json scale.json
    python benchmarks/plot_scale.py scale.json [--out docs/speed-growth.png]

Two panels, both axes logarithmic, one line per engine: the median ``ask`` (qabot, encoder
``none`` and ``static``) or retrieve (bm25s, rank_bm25) time per question, and the cold
build's CPU time (qabot's ``Ranker.build``, bm25s's and rank_bm25's tokenize + index: the
CPU time, as on a shared machine the wall time says more about the other processes), each
against the number of passages, from one run of ``benchmarks/scale.py``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LATENCY = {"qabot ask, none": "qabot ask (none)", "qabot ask, static": "qabot ask (static)",
           "bm25s retrieve": "bm25s", "rank_bm25 get_scores": "rank_bm25"}
BUILD = {"qabot none": "qabot (none)", "qabot static": "qabot (static)", "bm25s": "bm25s",
         "rank_bm25": "rank_bm25"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path, help="the file benchmarks/scale.py --json wrote")
    parser.add_argument("--out", type=Path, default=Path("docs/speed-growth.png"))
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = json.loads(args.json.read_text("utf-8"))
    sizes = run["sizes"]
    passages = [s["passages"] for s in sizes]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for key, label in LATENCY.items():
        left.plot(passages, [s["latency"][key]["p50"] for s in sizes], marker="o", label=label)
    for key, label in BUILD.items():
        right.plot(passages, [s["builds"][key]["cpu_seconds"] for s in sizes], marker="o",
                   label=label)
    left.set(title="median time per question", ylabel="ms")
    right.set(title="cold build (CPU time of the building process)", ylabel="CPU seconds")
    for axes in (left, right):
        axes.set(xscale="log", yscale="log", xlabel="passages")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    figure.suptitle(f"benchmarks/scale.py, ended {run['date'][:16]} UTC, {run['cpus']} CPUs "
                    "(python3.11-doc sources)")
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
