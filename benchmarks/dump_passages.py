"""Every passage of the shipped corpus, each benchmark corpus and the reader test beds.

Run from the repository root::

    python benchmarks/dump_passages.py > after.jsonl
    PYTHONPATH=/path/to/old/checkout python benchmarks/dump_passages.py --root . > before.jsonl
    diff before.jsonl after.jsonl

One line per passage: its corpus, document, section, parents, span, text and context, so a
change to the reader shows as the lines it adds, drops or alters. Used to check that a
reader change leaves the documents it was not made for as they were.
``--fixture tests/data/passages.jsonl`` writes the file ``tests/test_readers.py`` compares
the readers' output with: rewrite it only with a change whose every difference is a fix
(``git diff`` on it shows them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from qabot.documents import SUPPORTED_SUFFIXES, Document, load_corpus, load_document
from qabot.passages import split_document

ROOT = Path(__file__).resolve().parents[1]
#: Folders of reader test beds: every supported file in them is a document (SOURCES.md,
#: which names where they come from, excepted).
TEST_BEDS = ("tests/data/plaintext", "tests/data/markup")


def documents(root: Path) -> Iterator[tuple[str, Document]]:
    """``(corpus name, document)`` for every document the dump covers, in a fixed order."""
    folders = [root / "corpus"] + sorted(
        p for p in (root / "benchmarks" / "corpora").iterdir() if p.is_dir()
    )
    for folder in folders:
        for doc in load_corpus(folder):
            yield folder.name, doc
    for bed in TEST_BEDS:
        folder = root / bed
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in SUPPORTED_SUFFIXES and path.name != "SOURCES.md":
                yield folder.name, load_document(path)


def dump_lines(root: Path) -> Iterator[str]:
    """One JSON line per passage of every document of :func:`documents`."""
    for corpus, doc in documents(root):
        for p in split_document(doc):
            yield json.dumps({
                "corpus": corpus, "document": p.document, "section": p.section,
                "parents": list(p.parents), "start": p.start, "end": p.end,
                "text": p.text, "context": p.context,
            }, ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository holding the corpora")
    parser.add_argument("--fixture", type=Path, help="write the lines to this file instead")
    args = parser.parse_args()
    lines = list(dump_lines(args.root))
    if args.fixture:
        args.fixture.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        print(f"{len(lines)} passages -> {args.fixture}", file=sys.stderr)
    else:
        for line in lines:
            print(line)


if __name__ == "__main__":
    main()
