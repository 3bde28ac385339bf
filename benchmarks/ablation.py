"""Ablation: each retrieval lever switched off in turn, scored on the tuning and held-out parts.

Run from the repository root::

    python benchmarks/ablation.py [--corpus corpus] [--questions corpus/iom.questions.jsonl]

Each row rebuilds the bot with one lever disabled (by patching the constant or function
that implements it) and prints answer accuracy@1, recall@5, rejection accuracy and overall
accuracy for both parts, plus the "plain TF-IDF" row (every lever off, scikit-learn defaults
over blank-line paragraphs). The table in docs/accuracy.md is this script's output.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Callable, Iterator
from unittest import mock

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

import qabot.answer as answer_mod
import qabot.passages.assemble as passages_mod
import qabot.retrieval.lexical as index_mod
import qabot.retrieval.ranker as ranker_mod
from qabot import QABot, load_corpus
from qabot.evaluate import bot_asker, evaluate, load_gold, normalize_answer

K = 5


@contextlib.contextmanager
def nothing() -> Iterator[None]:
    yield


def patched(**attrs: object) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A context factory that patches ``module.attr`` pairs given as ``"module:attr"``."""

    @contextlib.contextmanager
    def ctx() -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for target, value in attrs.items():
                module, attr = target.split("__", 1)
                mod = {"index": index_mod, "ranker": ranker_mod, "answer": answer_mod,
                       "passages": passages_mod}[module]
                stack.enter_context(mock.patch.object(mod, attr, value))
            yield

    return ctx


def _no_parents(passage):  # type: ignore[no-untyped-def]
    return f"{passage.section}\n{passage.text}"


def _text_only(passage):  # type: ignore[no-untyped-def]
    return passage.text


_BASE_STOP = frozenset(
    w for w in index_mod.STOP_WORDS
    if w in set(
        """a about above after again against all am an and any are aren't as at be because
        been before being below between both but by can could did didn't do does doesn't
        doing don't down during each few for from further had has have having he her here
        hers herself him himself his how i i'm if in into is isn't it it's its itself just
        let's me more most my myself no nor not of off on once only or other our ours
        ourselves out over own same she should so some such than that that's the their
        theirs them themselves then there these they this those through to too under until
        up very was we were what what's when where which while who whom why will with would
        you your yours yourself yourselves s t""".split()
    )
)

LEVERS: list[tuple[str, Callable[[], contextlib.AbstractContextManager[None]]]] = [
    ("qabot (all levers)", nothing),
    ("- spelling correction", patched(index__SPELLING_CUTOFF=1.0)),
    ("- corpus-wide terms kept (max_df 1.0)", patched(index__MAX_WORD_DF=1.0)),
    ("- heading outline not indexed", patched(index__indexed_text=_no_parents)),
    ("- no headings indexed at all", patched(index__indexed_text=_text_only)),
    ("- bibliography not scaled", patched(ranker__CITATION_WEIGHT=1.0)),
    ("- no character n-grams", patched(index__CHAR_WEIGHT=0.0)),
    ("- question filler words kept", patched(index__STOP_WORDS=_BASE_STOP)),
    ("- no coverage guard", patched(answer__MIN_COVERAGE=0.0)),
    ("- numbers in the question not required", patched(answer___NUMBER=re.compile(r"(?!x)x"))),
    ("- list items shown alone (no list context)", patched(passages__MAX_LIST_CHARS=0)),
    ("- section match not blended in", patched(index__SECTION_WEIGHT=0.0)),
]


def plain_tfidf_report(corpus: str, items, k: int):  # type: ignore[no-untyped-def]
    """The naive baseline: default TfidfVectorizer over blank-line paragraphs, no threshold."""
    paragraphs = [
        p.strip() for doc in load_corpus(corpus) for p in re.split(r"\n\s*\n", doc.text)
        if p.strip()
    ]
    vectorizer = TfidfVectorizer()
    matrix = vectorizer.fit_transform(paragraphs)

    def ask(question: str) -> dict:
        scores = (matrix @ vectorizer.transform([question]).T).toarray().ravel()
        order = np.argsort(-scores)[:k]
        passages = [{"answer": paragraphs[i], "section": None, "document": None,
                     "score": float(scores[i])} for i in order]
        return {"question": question, "found": True, **passages[0], "highlight": None,
                "alternatives": passages[1:], "message": None}

    return evaluate(items, ask, k)


def row(label: str, report) -> str:  # type: ignore[no-untyped-def]
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}"

    cells = [label]
    for part in (report.tuning, report.held_out):
        cells += [pct(part.answer_accuracy), pct(part.recall_at_k),
                  pct(part.rejection_accuracy), pct(part.overall_accuracy)]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--questions", default="corpus/iom.questions.jsonl")
    args = parser.parse_args()
    items = load_gold(args.questions)
    assert normalize_answer("A  B") == "a b"
    print("| configuration | tune acc@1 | tune R@5 | tune reject | tune overall "
          "| held-out acc@1 | held-out R@5 | held-out reject | held-out overall |")
    print("|---" * 9 + "|")
    print(row("plain TF-IDF, blank-line paragraphs", plain_tfidf_report(args.corpus, items, K)))
    for label, ctx in LEVERS:
        with ctx():
            bot = QABot.from_path(args.corpus)
            print(row(label, evaluate(items, bot_asker(bot, K), K)), flush=True)


if __name__ == "__main__":
    main()
