"""Every passage of the shipped corpus and of each benchmark corpus, as JSON lines.

Run from the repository root::

    python benchmarks/dump_passages.py > after.jsonl
    PYTHONPATH=/path/to/old/checkout python benchmarks/dump_passages.py --root . > before.jsonl
    diff before.jsonl after.jsonl

One line per passage: its corpus, document, section, parents, span, text and context, so a
change to the reader shows as the lines it adds, drops or alters. Used to check that a
reader change leaves the corpora it was not made for as they were.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qabot.documents import load_corpus
from qabot.passages import split_documents

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository holding the corpora")
    args = parser.parse_args()
    folders = [args.root / "corpus"] + sorted(
        p for p in (args.root / "benchmarks" / "corpora").iterdir() if p.is_dir()
    )
    for folder in folders:
        for p in split_documents(load_corpus(folder)):
            print(json.dumps({
                "corpus": folder.name, "document": p.document, "section": p.section,
                "parents": list(p.parents), "start": p.start, "end": p.end,
                "text": p.text, "context": p.context,
            }, ensure_ascii=False))


if __name__ == "__main__":
    main()
