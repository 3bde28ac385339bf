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
  adjacent bigrams are integer keys that sort as their strings, counted once per distinct
  field; a text's counts are its fields' plus the bigrams joining one field to the next
  (:func:`_word_counts`);
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

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import Stemmer

from .postings import CountColumns, section_count_matrix

__all__ = ["CHAR_NGRAMS", "Fitted", "char_ngrams", "fit", "word_ngrams"]

#: The character n-gram lengths (``char_wb``, inside word boundaries, space-padded).
CHAR_NGRAMS = (3, 5)
EMPTY_VOCABULARY = "\x00"
#: About how many postings the fit computes and packs at a time (a build's memory).
PRODUCT_BLOCK = 1 << 21
#: The word between words when the word pattern searches all distinct words at once.
_SEPARATOR = "qabot0separator"


def char_ngrams(normalized: str) -> list[str]:
    """The ``char_wb`` 3-5-grams of an already normalised text, as scikit-learn makes them:
    each whitespace-separated word padded with a space on each side; a padded word shorter
    than ``n`` counts once, whole."""
    out: list[str] = []
    for word in normalized.split():
        out += word_ngrams(word)
    return out


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
    """Each distinct text field analysed once: its whitespace-separated ("spaced") word ids
    and its surface-word ids, flat, with offsets.

    Fields are numbered as they come (:meth:`numbers`), then all analysed at once
    (:meth:`analyse`): each field is normalised and split on whitespace, each distinct
    spaced word is searched for surface words once. The word pattern never matches
    whitespace, so a field's surface words are its spaced words' surface words in turn, and
    numbering them in that order numbers them in order of first appearance, as a search of
    each field would."""

    def __init__(self, normalize, word_pattern) -> None:  # type: ignore[no-untyped-def]
        self.ids: dict[str, int] = {}
        self._normalize = normalize
        self._word = word_pattern
        self.surface: dict[str, int] = {}
        self.spaced: dict[str, int] = {}
        self._arrays: dict[bool, tuple[np.ndarray, np.ndarray]] = {}

    def numbers(self, *groups: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each group of docs, the id of each doc's each field in turn and its doc."""
        sizes = [np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)) for docs in groups]
        total = int(sum(s.sum() for s in sizes))
        ids = _first_numbers(itertools.chain.from_iterable(itertools.chain(*groups)), total,
                             self.ids)
        bounds = np.cumsum([0] + [int(s.sum()) for s in sizes])
        return [(ids[start:end], np.repeat(np.arange(len(s), dtype=np.int64), s))
                for start, end, s in zip(bounds[:-1], bounds[1:], sizes, strict=True)]

    def analyse(self) -> None:
        """Split every numbered field into spaced and surface words (once, after numbering)."""
        lengths: list[int] = []

        def spaced_words() -> Iterator[str]:
            # One field's words at a time: the words of every field held at once were
            # most of the fit's Python objects, and freed, scattered memory.
            for field in self.ids:
                words = self._normalize(field).split()
                lengths.append(len(words))
                yield from words

        spaced_flat = _first_numbers(spaced_words(), -1, self.spaced)
        spaced_offsets = _offsets(lengths, len(lengths))
        word_surface, word_offsets = self._surface_words(list(self.spaced))
        field_of = np.repeat(np.arange(len(self.ids), dtype=np.int64), np.diff(spaced_offsets))
        surface_flat, field_of = _gather(spaced_flat, field_of, word_surface, word_offsets)
        surface_offsets = _offsets(np.bincount(field_of, minlength=len(self.ids)), len(self.ids))
        self._arrays = {True: (spaced_flat, spaced_offsets),
                        False: (surface_flat, surface_offsets)}

    def _surface_words(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each word's surface words as ids (``surface`` filled), flat, and offsets.

        The pattern is run once over all the words with a separator word between them
        (a call per word would cost more than the search), when it finds the separator
        alone as itself and no word holds it; else once per word."""
        text = f" {_SEPARATOR} ".join(words) + f" {_SEPARATOR} "
        if (self._word.findall(f" {_SEPARATOR} ") != [_SEPARATOR]
                or text.count(_SEPARATOR) != len(words)):
            per_word = list(map(self._word.findall, words))
            return (_first_numbers(itertools.chain.from_iterable(per_word),
                                   sum(map(len, per_word)), self.surface),
                    _offsets(map(len, per_word), len(per_word)))
        found: dict[str, int] = {}
        matches = self._word.findall(text)
        ids = _first_numbers(matches, len(matches), found)
        separator = found.pop(_SEPARATOR)
        self.surface.update(zip(found, itertools.count()))
        apart = ids == separator
        ids = ids[~apart]
        ids -= ids > separator
        ends = np.flatnonzero(apart) - np.arange(len(words))
        return ids, np.concatenate([[0], ends])

    def arrays(self, spaced: bool) -> tuple[np.ndarray, np.ndarray]:
        return self._arrays[spaced]

    def drop(self, spaced: bool) -> None:
        """Let go of the spaced or surface word arrays (the build's memory)."""
        del self._arrays[spaced]

    def spaced_counts(self) -> sp.csr_matrix:
        """Each distinct field's counts of its spaced words: spaced words × fields."""
        flat, offsets = self._arrays[True]
        fields = len(offsets) - 1
        field_of = np.repeat(np.arange(fields, dtype=np.int32), np.diff(offsets))
        return _counts(flat, field_of, len(self.spaced), fields)


def _offsets(lengths: Iterable[int], count: int) -> np.ndarray:
    """Where each of ``count`` runs of the given lengths starts, and the total at the end."""
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.fromiter(lengths, dtype=np.int64, count=count), out=offsets[1:])
    return offsets


def _first_numbers(items: Iterable[str], total: int, numbers: dict[str, int]) -> np.ndarray:
    """Each of the ``total`` items (-1: as many as come) as a number, distinct items
    numbered in order of first appearance (the empty dict ``numbers`` filled in that
    order). One dictionary pass records each item's first position; the first positions,
    ranked, are the numbers."""
    first: dict[str, int] = {}
    at = np.fromiter(map(first.setdefault, items, itertools.count()), dtype=np.int64,
                     count=total)
    numbers.update(zip(first, itertools.count()))
    return (np.cumsum(at == np.arange(len(at))) - 1)[at]


def _gather(fields: np.ndarray, docs: np.ndarray, flat: np.ndarray,
            offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of each (field, doc) entry in turn, and the doc of each token."""
    starts = offsets[fields]
    counts = offsets[fields + 1] - starts
    total = int(counts.sum())
    positions = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
    return flat[positions], np.repeat(docs, counts)


def _counts(docs: np.ndarray, keys: np.ndarray, rows: int, columns: int) -> sp.csr_matrix:
    """The rows × columns matrix counting each (doc, key) pair, rows sorted by key; int32
    counts and indices.

    scipy's COO to CSR conversion is a counting sort by row; when the pairs come doc by doc
    with keys in order within a doc, no further sort is needed. Pairs, ones and counts are
    4-byte integers, not scipy's default float64 ones: a count is at most the pairs' number."""
    counts = sp.coo_matrix((np.ones(len(docs), dtype=np.int32),
                            (docs.astype(np.int32, copy=False), keys.astype(np.int32, copy=False))),
                           shape=(rows, columns)).tocsr()
    counts.sum_duplicates()
    return sp.csr_matrix((counts.data, counts.indices.astype(np.int32, copy=False),
                          counts.indptr.astype(np.int64, copy=False)), shape=(rows, columns))


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
    matrix (G transposed: row ``i`` is term ``i``, column ``j`` is ``words[j]``).

    A word's n-grams are every window of 3 to 5 characters of the word padded with a space
    on each side (a padded word of 3 or 4 characters is its own last window), so the padded
    words are read as one array of code points, one after the other, each character as
    its rank in the words' sorted alphabet. The windows are numbered one length at a time,
    without sorting them: an (n+1)-character window is its n-character prefix's number
    and its last character's rank, made dense (:func:`_dense`). Only the distinct n-grams
    are then sorted, on an integer that sorts as Python sorts the strings: the ranks
    (from 1) as the digits of a fixed-width number, zeros after a shorter n-gram's end (a
    prefix first). With more than 6,207 distinct characters five digits overflow an int64:
    that integer is then two (the first three digits, the rest), sorted as pairs."""
    low, high = CHAR_NGRAMS
    if not words:
        return [], sp.csr_matrix((0, 0))
    sizes = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 2
    joined = f" {'  '.join(words)} "
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    total = len(points)
    alphabet = np.flatnonzero(np.bincount(points))
    base = len(alphabet) + 1
    rank = np.zeros(int(alphabet[-1]) + 1, dtype=np.int64)
    rank[alphabet] = np.arange(1, base)
    digits = np.concatenate([rank[points], np.zeros(high - 1, dtype=np.int64)])
    del rank, points
    word_of = np.repeat(np.arange(len(words), dtype=np.int64), sizes)
    left = np.cumsum(sizes)[word_of] - np.arange(total)  # characters to the word's end
    number, count = digits[:total] - 1, base - 1
    numbers, counts, firsts = [], [], []
    for n in range(2, high + 1):
        valid = np.flatnonzero(left >= n)
        numbered, count = _dense(number[valid] * base + digits[valid + n - 1], count * base)
        number = np.zeros(total, dtype=np.int64)
        number[valid] = numbered
        if n >= low:
            first = np.zeros(count, dtype=np.int64)
            first[numbered] = valid  # one window of each
            numbers.append(number)
            counts.append(count)
            firsts.append(first)
    # The distinct n-grams in string order.
    starts = np.concatenate(firsts)
    lengths = np.repeat(np.arange(low, high + 1), counts)
    wide = base ** high >= 2 ** 63
    key = np.zeros(len(starts), dtype=np.int64)
    for i in range(high):
        if wide and i == low:
            head, key = key, np.zeros(len(starts), dtype=np.int64)
        key = key * base + np.where(i < lengths, digits[starts + i], 0)
    order, _ = _sorted_runs(np.stack([head, key], axis=1) if wide else key)
    del digits, key
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    terms = [joined[s:s + n] for s, n in zip(starts[order].tolist(), lengths[order].tolist(),
                                             strict=True)]
    # Each window's n-gram, position by position, so each n-gram's words come in order.
    valid = left[:, None] >= np.arange(low, high + 1)
    windows = np.zeros(valid.shape, dtype=np.int64)
    for i, (offset, number) in enumerate(zip(np.cumsum([0, *counts[:-1]]), numbers,
                                             strict=True)):
        windows[valid[:, i], i] = place[offset + number[valid[:, i]]]
    return terms, _counts(windows[valid], np.broadcast_to(word_of[:, None], valid.shape)[valid],
                          len(terms), len(words))


def _dense(keys: np.ndarray, bound: int) -> tuple[np.ndarray, int]:
    """``keys`` (each in ``range(bound)``) numbered 0, 1, ... in ascending order, and how
    many distinct keys there are: through a table of ``bound`` entries when it is not much
    larger than ``keys``, else by sorting."""
    if not len(keys):
        return keys, 0
    if bound <= max(16 * len(keys), 1 << 16) and len(keys) < 1 << 31:
        present = np.zeros(bound, dtype=bool)
        present[keys] = True
        table = np.cumsum(present, dtype=np.int32) - 1
        return table[keys].astype(np.int64), int(table[-1]) + 1
    order, new = _sorted_runs(keys)
    number = np.empty(len(keys), dtype=np.int64)
    number[order] = np.cumsum(new) - 1
    return number, int(new.sum())


def _sorted_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A stable sorting order of ``keys`` (or of the rows of a 2-D ``keys``, compared
    column by column), and for the keys in that order, which differ from the one before
    (a new distinct key starts)."""
    if keys.ndim == 2:
        order = np.lexsort(keys.T[::-1])
        ranked = keys[order]
        new = np.ones(len(keys), dtype=bool)
        new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    else:
        order = np.argsort(keys, kind="stable")  # faster than quicksort on these keys
        ranked = keys[order]
        new = np.ones(len(keys), dtype=bool)
        new[1:] = ranked[1:] != ranked[:-1]
    return order, new


def _word_counts(stems: list[str], stem_of: np.ndarray, surface: tuple[np.ndarray, np.ndarray],
                 entries: dict[str, tuple[np.ndarray, np.ndarray, int]],
                 max_df: float | None, block: int) -> tuple[list[str], CountColumns, CountColumns]:
    """The word vocabulary (sorted, pruned by ``max_df``) and the passages' and sections'
    count matrices (packed, norms left at 1), from each surface word's stem (-1: a stop
    word), each field's surface words and each text's fields (``entries``).

    Features are integer keys that sort as their strings do: with ``r`` a stem's rank among
    the sorted stems and ``m`` the number of stems plus one, a unigram is ``r * m`` and a
    bigram ``r1 * m + 1 + r2``. Stems hold no character at or below the space (a word is
    letters, digits and apostrophes), so "a b" sorts after "a" and before any longer stem
    that starts with "a", as ``(r1, 1 + r2)`` does; a stem that breaks this (another word
    pattern) falls back to sorting the features' strings."""
    flat, offsets = surface
    fields = len(offsets) - 1
    by_name = sorted(range(len(stems)), key=stems.__getitem__)
    rank = np.empty(len(stems) + 1, dtype=np.int64)
    rank[by_name] = np.arange(len(stems))
    rank[-1] = -1  # stop words
    tokens = rank[stem_of[flat]] if len(flat) else np.zeros(0, dtype=np.int64)
    field_of = np.repeat(np.arange(fields, dtype=np.int64), np.diff(offsets))
    keep = tokens >= 0
    tokens, field_of = tokens[keep], field_of[keep]
    size = np.int64(len(stems) + 1)
    pair = field_of[:-1] == field_of[1:]
    # Each field's count of content words, first and last.
    count = np.bincount(field_of, minlength=fields)
    ends = np.cumsum(count)
    first = np.full(fields, -1, dtype=np.int64)
    last = np.full(fields, -1, dtype=np.int64)
    has = count > 0
    first[has] = tokens[(ends - count)[has]]
    last[has] = tokens[ends[has] - 1]
    joins = {}
    for name, (ids, owner, _) in entries.items():
        ids, owner = ids[has[ids]], owner[has[ids]]
        follows = owner[:-1] == owner[1:]
        joins[name] = (owner[1:][follows],
                       last[ids[:-1][follows]] * size + 1 + first[ids[1:][follows]])
    every = np.concatenate([tokens * size, tokens[:-1][pair] * size + 1 + tokens[1:][pair],
                            joins[""][1], joins["section_"][1]])
    order, new = _sorted_runs(every)
    keys = every[order[new]]
    inverse = np.empty(len(every), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    del every, order, new
    if min("".join(stems), default="!") <= " ":
        names = _word_names(keys, stems, by_name, size)
        position = np.empty(len(keys), dtype=np.int64)
        position[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(keys))
        inverse = position[inverse]
        keys = keys[np.argsort(position)]
    # Each join is one more row of the fields' counts, so that a text's counts are one
    # product: (its fields and joins) @ (their counts), computed transposed (feature ×
    # text, row by row) so that it comes out column by column, as the postings need it.
    within = len(tokens) + int(pair.sum())
    extra = len(inverse) - within
    per_key = _counts(inverse, np.concatenate([field_of, field_of[:-1][pair],
                                               np.arange(fields, fields + extra)]),
                      len(keys), fields + extra)
    parts = {}
    start = fields
    for name, (ids, owner, rows) in entries.items():
        joined_docs, _ = joins[name]
        parts[name] = _counts(np.concatenate([ids, np.arange(start, start + len(joined_docs))]),
                              np.concatenate([owner, joined_docs]), fields + extra, rows)
        start += len(joined_docs)
    del joins
    # The products are made, pruned and packed a block of features at a time: a feature is
    # kept by its own passage count, so no whole product is ever held. The passages'
    # blocks record which features they keep; the sections' keep the same.
    n = entries[""][2]
    limit = max_df * n if max_df is not None else np.inf
    kept = np.zeros(len(keys), dtype=bool)
    plans = {name: _product_blocks(per_key, part, block) for name, part in parts.items()}

    def pruned(name: str) -> Iterator[sp.csr_matrix]:
        for first, end in itertools.pairwise(plans[name][0]):
            product = per_key[first:end] @ parts[name]
            if name == "":
                df = np.diff(product.indptr)
                kept[first:end] = (df > 0) & (df <= limit)
            product = product[kept[first:end]]
            product.sort_indices()
            yield product

    matrices = [CountColumns.from_column_blocks(pruned(name), entries[name][2],
                                                capacity=plans[name][1])
                for name in ("", "section_")]
    columns = np.flatnonzero(kept)
    if not len(columns):
        return ([EMPTY_VOCABULARY], CountColumns.from_counts(sp.csc_matrix((n, 1))),
                CountColumns.from_counts(sp.csc_matrix((entries["section_"][2], 1))))
    return _word_names(keys[columns], stems, by_name, size), *matrices


def _product_blocks(left: sp.csr_matrix, right: sp.csr_matrix,
                    block: int) -> tuple[list[int], int]:
    """Where to cut ``left``'s rows so that each block's product with ``right`` has about
    ``block`` entries at most, and a bound on the whole product's entries: a row's entries
    are at most the sum of the sizes of the rows of ``right`` it meets."""
    per_row = np.diff(right.indptr)
    work = np.concatenate([[0], np.cumsum(per_row[left.indices])])[left.indptr[1:]]
    edges = np.searchsorted(work, np.arange(block, work[-1] if len(work) else 0, block))
    return sorted({0, left.shape[0], *edges.tolist()}), int(work[-1]) if len(work) else 0


def _word_names(keys: np.ndarray, stems: list[str], by_name: list[int],
                size: np.int64) -> list[str]:
    """The feature each key stands for (see :func:`_word_counts`)."""
    ranked = [stems[i] for i in by_name]
    first, second = np.divmod(keys, size)
    return [ranked[a] if b == 0 else f"{ranked[a]} {ranked[b - 1]}"
            for a, b in zip(first.tolist(), second.tolist(), strict=True)]


def _ngram_columns(g_t: sp.csr_matrix, w_t: sp.csr_matrix, rows: int,
                   block: int) -> CountColumns:
    """The texts × n-grams count matrix ``(G.T @ W.T).T``, packed column by column (norms
    left at 1). Computed and packed a block of n-grams at a time, so only one block's
    product is held at its full width.

    An n-gram's postings are at most its words' texts added up (:func:`_product_blocks`):
    that bounds each block's product and, summed, the packed arrays' length."""
    w_t = w_t.astype(np.int32, copy=False)
    bounds, capacity = _product_blocks(g_t, w_t, block)

    def products() -> Iterator[sp.csr_matrix]:
        for start, end in itertools.pairwise(bounds):
            product = g_t[start:end].astype(np.int32, copy=False) @ w_t
            product.sort_indices()
            yield product

    return CountColumns.from_column_blocks(products(), rows, capacity=capacity)

def fit(texts: Sequence[Sequence[str]], sections: Sequence[Sequence[str]], *,
        normalize, word_pattern, stop_words: frozenset[str],  # type: ignore[no-untyped-def]
        max_df: float | None, section_of: np.ndarray, headings: Sequence[int],
        block: int = PRODUCT_BLOCK) -> Fitted:
    """Fit both spaces on ``texts`` (each passage as its fields) and apply them to
    ``sections`` (each section as its fields); ``max_df`` prunes word features found in
    more than that share of the passages.

    Passage ``p`` belongs to section ``section_of[p]``; the first ``headings[s]`` fields of
    section ``s`` are its headings, and each of its passages is those headings and one
    field of its own (:mod:`qabot.retrieval.postings` relies on it for the sections'
    character counts).

    The count matrices are made and packed ``block`` postings at a time (about; the
    result does not depend on it).
    """
    fields = _Fields(normalize, word_pattern)
    matrices: dict[str, CountColumns] = {}
    entries = {name: (ids, owner, len(docs)) for name, docs, (ids, owner) in zip(
        ("", "section_"), (texts, sections), fields.numbers(texts, sections), strict=True)}
    fields.analyse()

    # Words: each surface word stop-listed and stemmed once; each distinct field's unigram
    # and bigram counts counted once, a text's counts are its fields' counts added up plus
    # the bigrams that join one field's last content word to the next field's first.
    surface = list(fields.surface)
    stemmed = Stemmer.Stemmer("english").stemWords(
        [w[:-2] if w.endswith("'s") else w for w in surface])
    stem_ids: dict[str, int] = {}
    stem_of = np.array([-1 if w in stop_words else stem_ids.setdefault(s, len(stem_ids))
                        for w, s in zip(surface, stemmed, strict=True)], dtype=np.int64)
    stems = list(stem_ids)
    n = len(texts)
    del stemmed, stem_ids
    word_terms, words, section_words = _word_counts(
        stems, stem_of, fields.arrays(spaced=False), entries, max_df, block)
    fields.drop(spaced=False)
    word_idf = _idf_of(words.column_sizes, n)
    matrices["word"] = words.normed(word_idf)
    matrices["section_word"] = section_words.normed(word_idf)
    del words, section_words

    # Characters: each whitespace-separated word's n-grams counted once (G), a text's
    # counts are its word counts times G, computed transposed to come out as columns.
    char_terms, g_t = ngram_word_counts(list(fields.spaced))
    section_of = np.asarray(section_of, dtype=np.int64)
    # The character matrix's rows are the passages numbered section by section (the
    # identity when each section's passages follow each other), so that each column's
    # postings come grouped by section, as section_count_matrix reads them; char_order
    # says which passage each row is.
    grouped = np.argsort(section_of, kind="stable")
    place = np.empty_like(grouped)
    place[grouped] = np.arange(n)
    # A text's word counts (W.T: words × texts) are its fields' (F.T: words × distinct
    # fields) added up: F.T @ (fields × texts), never each text's tokens laid out.
    field_words = fields.spaced_counts()
    del fields
    ids, owner, _ = entries[""]
    w_t = field_words @ _counts(ids, place[owner], field_words.shape[1], n)
    char = _ngram_columns(g_t, w_t, n, block)
    del w_t
    char_idf = _idf_of(char.column_sizes, n)
    # The sections' headings: the first fields of each section.
    ids, owner, sections_count = entries["section_"]
    first = np.searchsorted(owner, np.arange(sections_count))
    heading = np.arange(len(ids)) - first[owner] < np.asarray(headings, dtype=np.int64)[owner]
    heading_char = _ngram_columns(
        g_t, field_words @ _counts(ids[heading], owner[heading], field_words.shape[1],
                                   sections_count), sections_count, block)
    del g_t, field_words
    section_char = section_count_matrix(char, heading_char, section_of[grouped],
                                        np.bincount(section_of, minlength=sections_count),
                                        block)
    del heading_char
    matrices["char"] = char.normed(char_idf)
    del char
    matrices["section_char"] = section_char.normed(char_idf)
    return Fitted(word_terms, word_idf, char_terms, char_idf, matrices, stems, surface,
                  grouped)
