"""Fitting the lexical signal's two TF-IDF spaces in numpy, each distinct word analysed once.

The numbers are those of scikit-learn's ``TfidfVectorizer(sublinear_tf=True,
smooth_idf=True, norm="l2")`` fitted on the passages' indexed texts and applied to the
sections' texts (``tests/test_tfidf.py`` checks them against it), up to the order in which
a row's squares are summed. What scikit-learn does per occurrence, in Python, is done here
per distinct item:

* a text is made of fields (headings, the passage text), each analysed once however many
  passages repeat it; a passage is its fields joined by newlines, and no word, word
  bigram's tokens or character n-gram spans a newline except as those fields' tokens in
  sequence, so a passage's features are its fields' features in order;
* **words**: each distinct surface word is stop-listed and stemmed once; unigrams and
  adjacent bigrams are integer keys counted with ``np.unique``;
* **characters**: ``char_wb`` n-grams never cross whitespace, so a text's n-gram counts are
  ``W @ G``, its counts of whitespace-separated words times each distinct word's n-gram
  counts. The product is computed as ``G.T @ W.T``, which is the column-by-column (CSC)
  matrix the postings need, with no transposed copy, a block of n-grams at a time; only
  the passages' and the sections' headings' counts are made so, the sections' own being
  sums of those (:func:`~qabot.retrieval.postings.section_count_matrix`).

What is kept is counts and each row's norm (:class:`~qabot.retrieval.postings.CountColumns`),
not the TF-IDF values, which a question computes from them as the build would have.

Columns are numbered in sorted term order, as scikit-learn numbers them. Word features in
more than ``MAX_WORD_DF`` of the passages are dropped (from ``MIN_PASSAGES_FOR_MAX_DF``
passages on); when no word feature is left the word space is the one placeholder feature
``"\\x00"`` that no text has, as before.
"""

from __future__ import annotations

import dataclasses
import itertools
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import Stemmer

from .postings import CountColumns, count_norms, section_count_matrix, tfidf_norms

__all__ = ["CHAR_NGRAMS", "Fitted", "char_ngrams", "fit", "tfidf_columns", "word_ngrams"]

#: The character n-gram lengths (``char_wb``, inside word boundaries, space-padded).
CHAR_NGRAMS = (3, 5)
EMPTY_VOCABULARY = "\x00"


def char_ngrams(normalized: str) -> list[str]:
    """The ``char_wb`` 3-5-grams of an already normalised text, as scikit-learn makes them:
    each whitespace-separated word padded with a space on each side; a padded word shorter
    than ``n`` counts once, whole."""
    out: list[str] = []
    for word in normalized.split():
        out += word_ngrams(word)
    return out


def _ngram_count(size: int) -> int:
    """How many n-grams :func:`_word_ngrams` makes of a padded word of ``size`` characters."""
    low, high = CHAR_NGRAMS
    return sum(size - n + 1 for n in range(low, min(high, size - 1) + 1)) + (size <= high)


def word_ngrams(word: str) -> list[str]:
    padded = f" {word} "
    size = len(padded)
    out = []
    for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1):
        if size <= n:
            out.append(padded)
            break
        out += [padded[i:i + n] for i in range(size - n + 1)]
    return out


@dataclass(frozen=True)
class Fitted:
    """Both fitted spaces: the sorted vocabularies (column ``i`` is term ``i``), idf, the
    four count matrices column by column with their rows' norms (:class:`CountColumns`:
    passages and sections × words and characters), and the corpus's every stem and surface
    word (for coverage and spelling correction)."""

    word_terms: list[str]
    word_idf: np.ndarray
    char_terms: list[str]
    char_idf: np.ndarray
    matrices: dict[str, CountColumns]
    stems: list[str]
    surface: list[str]
    #: The passage each row of the character matrix is: its rows are numbered section by
    #: section (a permutation of the passages, the identity for most documents).
    char_order: np.ndarray


class _Fields:
    """Each distinct text field analysed once: its surface-word ids and its
    whitespace-word ids, flat, with offsets."""

    def __init__(self, normalize, word_pattern) -> None:  # type: ignore[no-untyped-def]
        self.ids: dict[str, int] = {}
        self._normalize = normalize
        self._word = word_pattern
        self.surface: dict[str, int] = {}
        self.spaced: dict[str, int] = {}
        self._surface_flat = array("q")
        self._spaced_flat = array("q")
        self._surface_ends = array("q")
        self._spaced_ends = array("q")

    def id(self, text: str) -> int:
        number = self.ids.get(text)
        if number is None:
            number = self.ids[text] = len(self.ids)
            normalized = self._normalize(text)
            surface, spaced = self.surface, self.spaced
            self._surface_flat.extend([surface.setdefault(w, len(surface))
                                       for w in self._word.findall(normalized)])
            self._spaced_flat.extend([spaced.setdefault(w, len(spaced))
                                      for w in normalized.split()])
            self._surface_ends.append(len(self._surface_flat))
            self._spaced_ends.append(len(self._spaced_flat))
        return number

    def arrays(self, spaced: bool) -> tuple[np.ndarray, np.ndarray]:
        flat, ends = ((self._spaced_flat, self._spaced_ends) if spaced
                      else (self._surface_flat, self._surface_ends))
        offsets = np.zeros(len(ends) + 1, dtype=np.int64)
        offsets[1:] = np.frombuffer(ends, dtype=np.int64)
        return np.frombuffer(flat, dtype=np.int64), offsets


def _gather(fields: np.ndarray, docs: np.ndarray, flat: np.ndarray,
            offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of each (field, doc) entry in turn, and the doc of each token."""
    starts = offsets[fields]
    counts = offsets[fields + 1] - starts
    total = int(counts.sum())
    positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
    return flat[positions], np.repeat(docs, counts)


def _counts(docs: np.ndarray, keys: np.ndarray, rows: int, columns: int) -> sp.csr_matrix:
    """The rows × columns matrix counting each (doc, key) pair, rows sorted by key."""
    pairs, counts = np.unique(docs * np.int64(columns) + keys, return_counts=True)
    row, column = np.divmod(pairs, np.int64(columns))
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=rows), out=indptr[1:])
    return sp.csr_matrix((counts.astype(np.float64), column.astype(np.int32), indptr),
                         shape=(rows, columns))


def tfidf_columns(counts: sp.csc_matrix, idf: np.ndarray, chunk: int = 1 << 22) -> sp.csc_matrix:
    """``(1 + ln count) * idf``, each row then divided by its L2 norm, in place on a CSC
    count matrix (each row's squares summed in ascending feature order). Done ``chunk``
    entries at a time, so no temporary array as long as the matrix is made."""
    data, indices, indptr = counts.data, counts.indices, counts.indptr
    rows = counts.shape[0]
    squares = np.zeros(rows)
    bounds = list(range(0, len(data), chunk)) + [len(data)]
    for start, end in itertools.pairwise(bounds):
        part = data[start:end]
        np.log(part, out=part)
        part += 1.0
        first = int(np.searchsorted(indptr, start, side="right")) - 1
        last = int(np.searchsorted(indptr, end, side="left"))
        spans = np.clip(indptr[first:last + 1], start, end)
        part *= np.repeat(idf[first:last], np.diff(spans))
        squares += np.bincount(indices[start:end], weights=part * part, minlength=rows)
    norms = np.sqrt(squares)
    norms[norms == 0.0] = 1.0
    for start, end in itertools.pairwise(bounds):
        data[start:end] /= norms[indices[start:end]]
    return counts


def _idf(columns: sp.csc_matrix, documents: int) -> np.ndarray:
    return _idf_of(np.diff(columns.indptr), documents)


def _idf_of(document_frequency: np.ndarray, documents: int) -> np.ndarray:
    """Smoothed idf, ``ln((1 + n) / (1 + df)) + 1``, as scikit-learn computes it."""
    df = document_frequency.astype(np.float64) + 1.0
    idf = np.full_like(df, fill_value=documents + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def ngram_word_counts(words: Sequence[str]) -> tuple[list[str], sp.csr_matrix]:
    """The sorted ``char_wb`` n-gram vocabulary of ``words`` and the n-gram × word count
    matrix (G transposed: row ``i`` is term ``i``, column ``j`` is ``words[j]``)."""
    lengths = np.fromiter((_ngram_count(len(w) + 2) for w in words), dtype=np.int64,
                          count=len(words))
    every = [g for w in words for g in word_ngrams(w)]
    ngram_ids = {g: i for i, g in enumerate(dict.fromkeys(every))}
    flat_ngrams = np.fromiter(map(ngram_ids.__getitem__, every), dtype=np.int64,
                              count=len(every))
    del every
    ngrams = list(ngram_ids)
    order = sorted(range(len(ngrams)), key=ngrams.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    word_of_ngram = np.repeat(np.arange(len(words), dtype=np.int64), lengths)
    return ([ngrams[i] for i in order],
            _counts(rank[flat_ngrams], word_of_ngram, len(ngrams), len(words)))


def _ngram_columns(g_t: sp.csr_matrix, w_t: sp.csr_matrix, rows: int,
                   block: int = 1 << 21) -> CountColumns:
    """The texts × n-grams count matrix ``(G.T @ W.T).T``, packed column by column (norms
    left at 1). Computed and packed a block of n-grams at a time, so only one block's
    product is held at its full width."""
    w_t = w_t.astype(np.int32)
    per_word = np.diff(w_t.indptr)
    # A block of n-gram rows of G.T whose product is about ``block`` postings at most.
    work = np.cumsum(sp.csr_matrix((per_word[g_t.indices], g_t.indices, g_t.indptr),
                                   shape=g_t.shape).sum(axis=1).A1)
    edges = np.searchsorted(work, np.arange(block, work[-1] if len(work) else 0, block))
    bounds = sorted({0, g_t.shape[0], *edges.tolist()})

    def products() -> Iterator[sp.csr_matrix]:
        for start, end in itertools.pairwise(bounds):
            product = g_t[start:end].astype(np.int32) @ w_t
            product.sort_indices()
            yield product

    return CountColumns.from_column_blocks(products(), (rows, g_t.shape[0]))

def fit(texts: Sequence[Sequence[str]], sections: Sequence[Sequence[str]], *,
        normalize, word_pattern, stop_words: frozenset[str],  # type: ignore[no-untyped-def]
        max_df: float | None, section_of: np.ndarray, headings: Sequence[int]) -> Fitted:
    """Fit both spaces on ``texts`` (each passage as its fields) and apply them to
    ``sections`` (each section as its fields); ``max_df`` prunes word features found in
    more than that share of the passages.

    Passage ``p`` belongs to section ``section_of[p]``; the first ``headings[s]`` fields of
    section ``s`` are its headings, and each of its passages is those headings and one
    field of its own (:mod:`qabot.retrieval.postings` relies on it for the sections'
    character counts).
    """
    fields = _Fields(normalize, word_pattern)
    matrices: dict[str, CountColumns] = {}
    entries = {}
    for name, docs in (("", texts), ("section_", sections)):
        ids = np.fromiter((fields.id(f) for doc in docs for f in doc), dtype=np.int64)
        owner = np.repeat(np.arange(len(docs), dtype=np.int64),
                          np.fromiter((len(doc) for doc in docs), dtype=np.int64,
                                      count=len(docs)))
        entries[name] = (ids, owner, len(docs))

    # Words: each surface word stop-listed and stemmed once.
    surface = list(fields.surface)
    stemmed = Stemmer.Stemmer("english").stemWords(
        [w[:-2] if w.endswith("'s") else w for w in surface])
    stem_ids: dict[str, int] = {}
    stem_of = np.array([-1 if w in stop_words else stem_ids.setdefault(s, len(stem_ids))
                        for w, s in zip(surface, stemmed, strict=True)], dtype=np.int64)
    stems = list(stem_ids)
    size = np.int64(max(len(stems), 1))
    flat, offsets = fields.arrays(spaced=False)
    keyed = {}
    for name, (ids, owner, _) in entries.items():
        tokens, docs = _gather(ids, owner, flat, offsets)
        tokens = stem_of[tokens]
        keep = tokens >= 0
        tokens, docs = tokens[keep], docs[keep]
        pair = docs[:-1] == docs[1:]
        keyed[name] = (np.concatenate([tokens, size + tokens[:-1][pair] * size
                                       + tokens[1:][pair]]),
                       np.concatenate([docs, docs[:-1][pair]]))
    keys = np.unique(keyed[""][0])
    if not len(keys):  # only stop words in the whole corpus
        keys = np.zeros(0, dtype=np.int64)
    names = [stems[k] if k < size else f"{stems[(k - size) // size]} {stems[(k - size) % size]}"
             for k in keys.tolist()]
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    n = len(texts)
    counts = _counts(keyed[""][1], rank[np.searchsorted(keys, keyed[""][0])], n,
                     len(keys)).tocsc()
    df = np.diff(counts.indptr)
    kept = df <= max_df * n if max_df is not None else np.ones(len(df), dtype=bool)
    if kept.any():
        word_terms = [names[i] for i in order if kept[rank[i]]]
        counts = counts[:, np.flatnonzero(kept)]
    else:
        word_terms = [EMPTY_VOCABULARY]
        counts = sp.csc_matrix((n, 1))
    column_of = np.full(len(keys) + 1, -1, dtype=np.int64)
    if kept.any():
        column_of[np.flatnonzero(kept)] = np.arange(int(kept.sum()))
    section_keys, section_docs = keyed["section_"]
    found = np.minimum(np.searchsorted(keys, section_keys), max(len(keys) - 1, 0))
    known = (keys[found] == section_keys) if len(keys) else np.zeros(len(section_keys), bool)
    columns = np.where(known, column_of[rank[found]] if len(keys) else -1, -1)
    known = columns >= 0
    section_counts = _counts(section_docs[known], columns[known], entries["section_"][2],
                             len(word_terms)).tocsc()
    word_idf = _idf(counts, n)
    counts.sort_indices()
    section_counts.sort_indices()
    matrices["word"] = CountColumns.from_counts(counts, tfidf_norms(counts, word_idf))
    matrices["section_word"] = CountColumns.from_counts(
        section_counts, tfidf_norms(section_counts, word_idf))

    # Characters: each whitespace-separated word's n-grams counted once (G), a text's
    # counts are its word counts times G, computed transposed to come out as columns.
    char_terms, g_t = ngram_word_counts(list(fields.spaced))
    spaced_count = len(fields.spaced)
    flat, offsets = fields.arrays(spaced=True)
    section_of = np.asarray(section_of, dtype=np.int64)
    # The character matrix's rows are the passages numbered section by section (the
    # identity when each section's passages follow each other), so that each column's
    # postings come grouped by section, as section_count_matrix reads them; char_order
    # says which passage each row is.
    grouped = np.argsort(section_of, kind="stable")
    place = np.empty_like(grouped)
    place[grouped] = np.arange(n)
    ids, owner, _ = entries[""]
    tokens, docs = _gather(ids, owner, flat, offsets)
    char = _ngram_columns(g_t, _counts(tokens, place[docs], spaced_count, n), n)
    char_idf = _idf_of(np.diff(char.splits[:, [0, -1]], axis=1).ravel(), n)
    # The sections' headings: the first fields of each section.
    ids, owner, sections_count = entries["section_"]
    first = np.searchsorted(owner, np.arange(sections_count))
    heading = np.arange(len(ids)) - first[owner] < np.asarray(headings, dtype=np.int64)[owner]
    tokens, docs = _gather(ids[heading], owner[heading], flat, offsets)
    heading_char = _ngram_columns(g_t, _counts(tokens, docs, spaced_count, sections_count),
                                  sections_count)
    del g_t
    section_char = section_count_matrix(char, heading_char, section_of[grouped],
                                        np.bincount(section_of, minlength=sections_count))
    del heading_char
    matrices["char"] = dataclasses.replace(char, norms=count_norms(char, char_idf))
    del char
    matrices["section_char"] = CountColumns.from_counts(
        section_char, tfidf_norms(section_char, char_idf))
    return Fitted(word_terms, word_idf, char_terms, char_idf, matrices, stems, surface,
                  grouped)
