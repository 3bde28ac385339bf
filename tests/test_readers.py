"""The readers' output held still: every passage of every corpus and reader test bed.

``tests/data/passages.jsonl`` holds the passages ``benchmarks/dump_passages.py`` wrote for
the shipped corpus, each benchmark corpus, the plain-text test bed and the Markdown/HTML
test bed (``tests/data/markup``). A reader change that alters any of them fails here, one
document at a time, with the first passage that differs; when every difference is a fix,
rewrite the file with ``python benchmarks/dump_passages.py --fixture
tests/data/passages.jsonl`` and let ``git diff`` show them in review.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "data" / "passages.jsonl"


def _dump_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("dump_passages",
                                                  REPO / "benchmarks" / "dump_passages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _by_document(lines: list[str]) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for line in lines:
        row = json.loads(line)
        out[(row["corpus"], row["document"])].append(row)
    return out


EXPECTED = _by_document(FIXTURE.read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="module")
def actual() -> dict[tuple[str, str], list[dict]]:
    return _by_document(list(_dump_module().dump_lines(REPO)))


def test_the_fixture_covers_every_format_and_test_bed() -> None:
    corpora = {corpus for corpus, _ in EXPECTED}
    assert {"corpus", "lsof", "debfaq", "who", "panama", "plaintext", "markup"} <= corpora
    suffixes = {Path(name).suffix for _, name in EXPECTED}
    assert {".txt", ".md", ".html"} <= suffixes


def test_no_document_is_added_or_dropped(actual: dict) -> None:
    assert sorted(actual) == sorted(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda k: f"{k[0]}/{k[1]}")
def test_passages_are_as_recorded(actual: dict, key: tuple[str, str]) -> None:
    got, want = actual.get(key, []), EXPECTED[key]
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        assert g == w, f"passage {i} of {key[1]} differs"
    assert len(got) == len(want)
