"""Every gold question's answer, as JSON lines, to compare two versions byte for byte.

Run from the repository root::

    python benchmarks/dump_answers.py [--encoders none,static,transformer] > new.jsonl
    git archive main | tar -x -C /tmp/main
    PYTHONPATH=/tmp/main python benchmarks/dump_answers.py > old.jsonl
    cmp old.jsonl new.jsonl

For each encoder, each gold set (the shipped IOM set, then every ``benchmarks/corpora``
set) and each of its questions it prints ``[encoder, set, ask(question, top_k=5).to_dict()]``
(keys sorted), so scores, alternatives, highlights and messages are all compared. The
corpora and questions are this checkout's; the code is whichever ``qabot`` Python imports
(the path is printed on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import qabot
from qabot import QABot

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="none,static")
    args = parser.parse_args()
    print(f"qabot from {qabot.__file__}", file=sys.stderr)
    sets = [ROOT / "corpus" / "iom.questions.jsonl",
            *sorted((ROOT / "benchmarks" / "corpora").glob("*/*.questions.jsonl"))]
    for encoder in args.encoders.split(","):
        for gold in sets:
            bot = QABot.from_path(gold.parent, encoder=encoder)
            for line in gold.read_text("utf-8").splitlines():
                if line.strip():
                    answer = bot.ask(json.loads(line)["question"], top_k=5).to_dict()
                    print(json.dumps([encoder, gold.parent.name, answer], sort_keys=True))


if __name__ == "__main__":
    main()
