"""Fitting the TF-IDF spaces (qabot.retrieval.tfidf): the very vocabularies, idf and, up to
rounding, matrices scikit-learn's TfidfVectorizer gives, on tiny corpora and every gold
corpus."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import Stemmer
from sklearn.feature_extraction.text import TfidfVectorizer

from qabot.documents import load_corpus
from qabot.passages import Passage, split_documents
from qabot.retrieval.lexical import (
    MAX_WORD_DF,
    MIN_PASSAGES_FOR_MAX_DF,
    STOP_WORDS,
    LexicalIndex,
    analyze_words,
    fit_passages,
    indexed_text,
    normalize,
    section_numbers,
    section_texts,
)
from qabot.retrieval.tfidf import char_ngrams, fit, ngram_word_counts, word_ngrams

REPO = Path(__file__).resolve().parents[1]
CORPORA = [REPO / "corpus", *sorted(p for p in (REPO / "benchmarks" / "corpora").iterdir()
                                    if p.is_dir())]


def _terms(vocabulary) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(vocabulary, key=vocabulary.__getitem__)


def _assert_like_scikit_learn(passages: tuple[Passage, ...]) -> LexicalIndex:
    lexical = LexicalIndex.build(passages)
    texts = [indexed_text(p) for p in passages]
    prune = len(texts) >= MIN_PASSAGES_FOR_MAX_DF
    word = TfidfVectorizer(analyzer=analyze_words, sublinear_tf=True,
                           max_df=MAX_WORD_DF if prune else 1.0)
    try:
        words = word.fit_transform(texts)
    except ValueError:  # no word feature at all, or none left after pruning
        word = TfidfVectorizer(analyzer=analyze_words, sublinear_tf=True,
                               vocabulary={"\x00": 0})
        words = word.fit_transform(texts)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), preprocessor=normalize,
                           sublinear_tf=True)
    chars = char.fit_transform(texts)
    sections = section_texts(passages, section_numbers(passages))
    assert _terms(lexical._word.vocabulary) == _terms(word.vocabulary_)
    assert _terms(lexical._char.vocabulary) == _terms(char.vocabulary_)
    assert lexical._word.idf.tolist() == word.idf_.tolist()
    assert lexical._char.idf.tolist() == char.idf_.tolist()
    expected = {"word": words, "char": chars, "section_word": word.transform(sections),
                "section_char": char.transform(sections)}
    for name, reference in expected.items():
        got = lexical.matrix(name)
        assert isinstance(got, sp.csc_matrix)
        assert got.shape == reference.shape and got.nnz == reference.nnz, name
        difference = abs(got - sp.csc_matrix(reference))
        assert difference.nnz == 0 or difference.max() <= 1e-15, name
    return lexical


@pytest.mark.parametrize("folder", CORPORA, ids=lambda p: p.name)
def test_every_gold_corpus_fits_as_scikit_learn_fits_it(folder: Path) -> None:
    passages = tuple(split_documents(load_corpus(folder)))
    _assert_like_scikit_learn(passages)


def _p(text: str, section: str = "Notes", parents: tuple[str, ...] = ()) -> Passage:
    return Passage(text, section, "doc.txt", 0, len(text), parents)


@pytest.mark.parametrize("passages", [
    pytest.param((_p("The the of and.", "And"), _p("It is what it is.", "The")),
                 id="only-stop-words"),
    pytest.param(tuple(_p(f"Common word and rare{i} word{i % 3}.") for i in range(25)),
                 id="max-df-prunes-from-20-passages"),
    pytest.param(tuple(_p("common", "The") for _ in range(25)), id="every-word-pruned"),
    pytest.param((_p("Tide tables sold here.", "Shop", ("Port", "Town")),
                  _p("Tide tables sold here.", "Harbour", ("Port",)),
                  _p("Pilots wait at the buoy.", "Harbour", ("Port",)),
                  _p("Tide tables sold here.", "Shop", ("Port", "Town"))),
                 id="repeated-fields-and-a-section-seen-twice"),
    pytest.param((_p("Ça coûte 5 € — l’Œuvre\u00a0straße  IX\tfin.\nA b c"),
                  _p("it's the guild's hall, isn't it?")), id="unicode-and-apostrophes"),
    pytest.param((_p("𝔘𝔫𝔦 😀😀😀 a😀 😀 x \U0010ffff q ab a ab i", "Ω 𝔘"),
                  _p("😀 ab 𝔘 i o u a\x00 \x00 ab\x00c")), id="non-bmp-nul-and-short-words"),
    pytest.param((_p("x\u2003y\u00a0z\u3000w\x1c\x1dv\x85u\u2028t  end", "", ("",)),
                  _p("", "Head", ("The", "")), _p(" \n ", "Head", ("The", ""))),
                 id="unicode-whitespace-and-empty-fields"),
    pytest.param((_p("aaaaaa aaaa banana bananas abab ababab"), _p("anana nan")),
                 id="n-grams-repeated-in-a-word"),
    pytest.param((_p("qabot0separator is a word here, qabot0separators too"), _p("word")),
                 id="a-word-holding-the-search-separator"),
    pytest.param((_p(" ".join(chr(0x4E00 + i) + chr(0x4E00 + i * 7 % 6500) for i in range(6500))),
                  _p("abc " + "".join(chr(0x4E00 + i) for i in range(0, 6500, 13)))),
                 id="more-distinct-characters-than-five-fit-an-int64"),
])
def test_small_corpora_fit_as_scikit_learn_fits_them(passages: tuple[Passage, ...]) -> None:
    _assert_like_scikit_learn(passages)


@pytest.mark.parametrize("text", [
    "", "a", "ab", "abc", "abcd", "a  b\tc\n\nlonger words here", " \u00a0x\u2003yz ",
])
def test_char_ngrams_are_scikit_learns_char_wb(text: str) -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()
    assert char_ngrams(text) == analyzer(text)


def test_a_corpus_of_stop_words_gets_the_placeholder_word_space() -> None:
    lexical = LexicalIndex.build((_p("The the of and.", "And"), _p("It is what it is.", "The")))
    assert _terms(lexical._word.vocabulary) == ["\x00"]
    scores = lexical.scores("what is it")
    assert np.all(np.isfinite(scores)) and scores.max() > 0  # the characters still match


@pytest.mark.parametrize("words", [
    ["a"], ["ab", "a", "abc", "abcd", "abcde", "abcdef"], ["aaaaaaa", "banana", "a a"[:1]],
    ["😀", "a😀b", "\U0010ffff\U0010ffff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"], ["a\x00", "\x00", "ab\x00c", "a"],
    ["\ud800x", "y\udfff"],  # lone surrogates, as a str may hold them
    [chr(0x3400 + i) + chr(0x3400 + (i * 31) % 7000) + "x" for i in range(7000)],
], ids=["one", "short-and-long", "repeats", "non-bmp", "nul", "surrogates", "wide"])
def test_ngram_word_counts_counts_each_words_char_wb_ngrams(words: list[str]) -> None:
    terms, counts = ngram_word_counts(words)
    every = [Counter(word_ngrams(w)) for w in words]
    assert terms == sorted(set().union(*every))
    assert counts.has_canonical_format and counts.shape == (len(terms), len(words))
    columns = counts.tocsc()
    for j, expected in enumerate(every):
        column = slice(columns.indptr[j], columns.indptr[j + 1])
        assert dict(zip([terms[i] for i in columns.indices[column]],
                        columns.data[column].tolist(), strict=True)) == expected, words[j]


def test_ngram_word_counts_of_no_words_is_empty() -> None:
    terms, counts = ngram_word_counts([])
    assert terms == [] and counts.shape == (0, 0)


def test_word_features_sort_as_strings_even_below_the_space() -> None:
    """With a word pattern that keeps control characters, a stem can sort before the
    space ("x\x01" < "x c"): the vocabulary is still in string order."""
    pattern = re.compile(r"\S+")
    texts = [("x x\x01 x c x\x01b",), ("b x\x01b c x",), ("c x",)]

    def analyzer(text: str) -> list[str]:
        words = [w[:-2] if w.endswith("'s") else w for w in pattern.findall(normalize(text))
                 if w not in STOP_WORDS]
        tokens = Stemmer.Stemmer("english").stemWords(words)
        return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]

    fitted = fit(texts, [[t for (t,) in texts]], normalize=normalize, word_pattern=pattern,
                 stop_words=STOP_WORDS, max_df=None, section_of=np.zeros(3, dtype=np.intp),
                 headings=[0])
    reference = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True)
    matrix = reference.fit_transform(["\n".join(t) for t in texts])
    assert {"x", "x c", "x\x01"} <= set(fitted.word_terms)
    assert fitted.word_terms == _terms(reference.vocabulary_)
    assert fitted.word_idf.tolist() == reference.idf_.tolist()
    assert abs(fitted.matrices["word"].to_csc(fitted.word_idf) - matrix).max() <= 1e-15


@pytest.mark.parametrize("passages", [
    pytest.param(tuple(_p(f"Common word and rare{i} word{i % 3}.", f"S{i % 4}", ("Top",))
                       for i in range(25)), id="pruned-sections-apart"),
    pytest.param(tuple(split_documents(load_corpus(REPO / "corpus"))), id="shipped-corpus"),
])
@pytest.mark.parametrize("block", [1, 7, 500])
def test_the_fit_does_not_depend_on_its_block_size(passages: tuple[Passage, ...],
                                                   block: int) -> None:
    """The count matrices are made and packed a block of postings at a time, and the
    words pruned block by block: any block size gives the very arrays of one block."""
    whole, _ = fit_passages(passages, block=1 << 40)
    got, _ = fit_passages(passages, block=block)
    assert got.word_terms == whole.word_terms and got.char_terms == whole.char_terms
    np.testing.assert_array_equal(got.word_idf, whole.word_idf)
    np.testing.assert_array_equal(got.char_idf, whole.char_idf)
    np.testing.assert_array_equal(got.char_order, whole.char_order)
    for name, matrix in whole.matrices.items():
        for part, array in matrix.arrays(name).items():
            assert array.dtype == got.matrices[name].arrays(name)[part].dtype, part
            np.testing.assert_array_equal(got.matrices[name].arrays(name)[part], array, part)
