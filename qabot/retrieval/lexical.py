"""The lexical signal: TF-IDF (scikit-learn) over words and characters, cosine scores.

Two TF-IDF spaces are built over each passage's text together with its section heading:

* **words**: Unicode NFKC, case-folded, split on letters/digits; a short English stop
  list removed (question words carry no topic); Snowball-stemmed (PyStemmer) so
  "funded"/"funds"/"funding" meet; unigrams plus adjacent-word bigrams so "human
  trafficking" outranks passages that only share "human".
* **characters**: ``char_wb`` 3-5-grams inside word boundaries, which still match when a
  question misspells a word ("headquaters").

Both use sublinear tf (``1 + log tf``: a passage that repeats a word ten times is not ten
times more relevant), smoothed idf (``ln((1 + n) / (1 + df)) + 1``: no zero division, no
term fully ignored) and L2 normalisation, so a dot product is the cosine similarity.
A passage's match is ``(1 - CHAR_WEIGHT) * cos_words + CHAR_WEIGHT * cos_chars``. Its
score blends that with the match of its whole section (every passage under the same
heading, read as one text) at ``SECTION_WEIGHT``: a question whose words are spread over
a section's passages then finds that section even when no single passage holds them all.

Both spaces are fitted by :mod:`qabot.retrieval.tfidf` (scikit-learn's numbers, each
distinct word analysed once). Each matrix is held column by column only (a feature's
postings, as counts with each row's norm: :mod:`qabot.retrieval.postings`; saved and
memory-mapped as such), and a question reads only the columns of its own features, so its
cost grows with those features' postings, not with the corpus. Each passage's score is the
full sparse-matrix-times-dense-vector product's up to rounding;
:meth:`LexicalIndex.full_matrix_scores` keeps the full product as the reference the tests
and ``benchmarks/scale.py`` compare against.

The index also owns the question-side word tools the answer layer needs: spelling
correction against the corpus's own words and the idf-weighted coverage of a question's
content words. :class:`~qabot.retrieval.ranker.Ranker` saves and verifies its arrays.
"""

from __future__ import annotations

import difflib
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain

import numpy as np
import scipy.sparse as sp
import Stemmer

from ..errors import IndexFormatError
from ..passages import Passage
from .postings import CountColumns, log_table
from .tfidf import Fitted, char_ngrams, fit, word_ngrams

__all__ = [
    "CHAR_WEIGHT",
    "SECTION_WEIGHT",
    "LexicalIndex",
    "Space",
    "analyze_words",
    "fit_passages",
    "indexed_text",
    "normalize",
    "section_numbers",
    "section_texts",
]

CHAR_WEIGHT = 0.3
#: Word features in more than this share of passages are dropped: the document's own
#: subject ("IOM", "migration" in a document about IOM) tells passages apart no better
#: than "the" does, and short passages that merely name it would otherwise win.
MAX_WORD_DF = 0.5
MIN_PASSAGES_FOR_MAX_DF = 20
SPELLING_CUTOFF = 0.85
#: Questions whose analysis each index keeps, and words whose character n-gram columns
#: (and, for unknown words, closest corpus word).
QUERY_CACHE = 64
WORD_CACHE = 8192
#: Share of a passage's score that comes from its section's match as a whole.
SECTION_WEIGHT = 0.3

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can could did didn't do does doesn't doing don't
    down during each few for from further had has have having he her here hers herself him
    himself his how i i'm if in into is isn't it it's its itself just let's me more most my
    myself no nor not of off on once only or other our ours ourselves out over own same she
    should so some such than that that's the their theirs them themselves then there these
    they this those through to too under until up very was we were what what's when where
    which while who whom why will with would you your yours yourself yourselves s t
    whos whats wheres whens hows whys thats theres dont doesnt isnt arent cant wont im ive
    id youre can may might must shall also tell know please explain describe give want
    many much wondering wonder curious really actually quite just thing things something anything
    info information hi hello hey thanks thank question questions anyone someone""".split()
)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def normalize(text: str) -> str:
    """NFKC, case-folded, curly apostrophes made straight."""
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'").replace("‘", "'")


_THREAD_LOCAL = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # PyStemmer objects must not be used by two threads at once: one per thread.
    stemmer = getattr(_THREAD_LOCAL, "stemmer", None)
    if stemmer is None:
        stemmer = _THREAD_LOCAL.stemmer = Stemmer.Stemmer("english")
    return stemmer


def word_tokens(text: str) -> list[str]:
    """Stemmed content words of ``text``, stop words removed, in order."""
    words = [w for w in _WORD.findall(normalize(text)) if w not in STOP_WORDS]
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    return _stemmer().stemWords(words)


def analyze_words(text: str) -> list[str]:
    """The word features of ``text``: stemmed unigrams and adjacent bigrams."""
    tokens = word_tokens(text)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def indexed_text(passage: Passage) -> str:
    """What is indexed for a passage: the headings above it, its section, then its text."""
    return "\n".join((*passage.parents, passage.section, passage.text))


def section_numbers(passages: tuple[Passage, ...]) -> np.ndarray:
    """Each passage's section number: a section is the passages of one document under one
    heading, numbered in order of first appearance."""
    numbers: dict[tuple[str, str, tuple[str, ...]], int] = {}
    return np.array(
        [numbers.setdefault((p.document, p.section, p.parents), len(numbers)) for p in passages],
        dtype=np.intp,
    )


def section_texts(passages: tuple[Passage, ...], numbers: np.ndarray) -> list[str]:
    """Each section's text: its headings, then its passages' texts, one a line."""
    parts: list[list[str]] = []
    for p, number in zip(passages, numbers.tolist(), strict=True):
        if number == len(parts):
            parts.append([*p.parents, p.section])
        parts[number].append(p.text)
    return ["\n".join(lines) for lines in parts]


def fit_passages(passages: tuple[Passage, ...], **options: int) -> tuple[Fitted, np.ndarray]:
    """:func:`~qabot.retrieval.tfidf.fit` of the passages and their sections as the index
    fits them (``options``: ``fit``'s own, e.g. ``block``), and each passage's section
    number."""
    section_of = section_numbers(passages)
    sections: list[list[str]] = []
    headings: list[int] = []
    for p, number in zip(passages, section_of.tolist(), strict=True):
        if number == len(sections):
            sections.append([*p.parents, p.section])
            headings.append(len(p.parents) + 1)
        sections[number].append(p.text)
    fitted = fit([(*p.parents, p.section, p.text) for p in passages], sections,
                 normalize=normalize, word_pattern=_WORD, stop_words=STOP_WORDS,
                 max_df=MAX_WORD_DF if len(passages) >= MIN_PASSAGES_FOR_MAX_DF else None,
                 section_of=section_of, headings=headings, **options)
    return fitted, section_of


@dataclass(frozen=True)
class Space:
    """One TF-IDF space: each term's column, each column's idf, and how a text becomes
    terms (``word``: :func:`analyze_words`; ``char``: ``char_wb`` 3-5-grams)."""

    name: str
    vocabulary: Mapping[str, int]
    idf: np.ndarray

    def features(self, text: str) -> list[str]:
        return analyze_words(text) if self.name == "word" else char_ngrams(normalize(text))


MATRICES = ("word", "char", "section_word", "section_char")


class LexicalIndex:
    """A TF-IDF index over passages: build once, query many times.

    Each matrix is held column by column only (a feature's postings, as counts with each
    row's norm), and may be a read-only memory map of a saved index.
    """

    def __init__(
        self,
        passages: Sequence[Passage],
        word: Space,
        char: Space,
        matrices: Mapping[str, CountColumns],
        section_of: np.ndarray,
        stems: Iterable[str],
        surface: Iterable[str],
        char_order: np.ndarray,
    ) -> None:
        self.passages = passages
        self._word = word
        self._char = char
        self._matrices = dict(matrices)
        self._section_of = section_of
        # The corpus's own words (for spelling correction) and stems (for coverage).
        self._known_stems = frozenset(stems)
        self._surface_words = frozenset(surface)
        self._unseen_weight = float(word.idf.max()) if len(word.idf) else 1.0
        self._postings = tuple(self._matrices[name] for name in MATRICES)
        # The character matrix's rows are the passages section by section: char_order[i]
        # is row i's passage, and a passage's row is its place (None: the identity).
        self._char_order = char_order
        place = np.empty_like(char_order)
        place[char_order] = np.arange(len(char_order))
        self._char_place = (None if np.array_equal(char_order, np.arange(len(char_order)))
                            else place)
        self._log_tables = {name: _log_table_for(m.counts) for name, m in self._matrices.items()}
        # A question is analysed once per ask although scoring, the highlight and the
        # coverage check each need it; per index, so no state is shared between indexes.
        self._query = lru_cache(maxsize=QUERY_CACHE)(self._analyze)
        self._stems = lru_cache(maxsize=QUERY_CACHE)(_stems)
        self._ngram_columns = lru_cache(maxsize=WORD_CACHE)(self._columns_of_word)
        # A typo is often typed again (by the same user, or asked by many): difflib's
        # search over the corpus words costs up to a few ms a word.
        self._closest_word = lru_cache(maxsize=WORD_CACHE)(self._close_word)

    @classmethod
    def build(cls, passages: Sequence[Passage]) -> LexicalIndex:
        """Fit both TF-IDF spaces on the passages (:mod:`qabot.retrieval.tfidf`)."""
        passages = tuple(passages)
        if not passages:
            raise IndexFormatError("cannot index an empty list of passages")
        fitted, section_of = fit_passages(passages)
        return cls(passages, Space("word", _numbered(fitted.word_terms), fitted.word_idf),
                   Space("char", _numbered(fitted.char_terms), fitted.char_idf),
                   fitted.matrices, section_of, fitted.stems, fitted.surface,
                   fitted.char_order)

    def __len__(self) -> int:
        return len(self.passages)

    @cached_property
    def _spelling_candidates(self) -> dict[str, list[str]]:
        # Spelling candidates by first letter: a typo rarely changes the first letter.
        candidates: dict[str, list[str]] = {}
        for word in sorted(w for w in self._surface_words if len(w) >= 4 and w.isalpha()):
            candidates.setdefault(word[0], []).append(word)
        return candidates

    def correct_spelling(self, question: str) -> str:
        """``question`` with words unknown to the corpus replaced by a close corpus word.

        A word of four letters or more that occurs in no passage is replaced by the most
        similar corpus word with the same first letter when ``difflib`` rates them at least
        ``SPELLING_CUTOFF`` alike ("headquaters" -> "headquarters"); other words are left
        as typed.
        """

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            low = normalize(word)
            if len(low) < 4 or not low.isalpha() or low in STOP_WORDS:
                return word
            if low in self._surface_words:
                return word
            return self._closest_word(low) or word

        return _WORD.sub(fix, question)

    def _close_word(self, word: str) -> str | None:
        """The corpus word most like ``word`` (same first letter), or None."""
        candidates = self._spelling_candidates.get(word[0], [])
        close = difflib.get_close_matches(word, candidates, n=1, cutoff=SPELLING_CUTOFF)
        return close[0] if close else None

    def coverage(self, question: str, position: int) -> float:
        """The idf-weighted share of the question's content words found in a passage.

        ``sum(idf(t) for t in Q & P) / sum(idf(t) for t in Q)`` over the question's stems
        ``Q`` and the passage's (section included) stems ``P``; words the corpus never uses
        weigh as the rarest word, words in most passages weigh nothing. 1.0 for a question
        with no content words.
        """
        vocabulary, idf = self._word.vocabulary, self._word.idf
        weights, columns = {}, {}
        # In sorted order: a frozenset's order follows the process's hash seed, and the
        # sums' last bits with it, so two server processes could disagree at MIN_COVERAGE.
        for t in sorted(self._stems(question)):
            column = columns[t] = vocabulary.get(t)
            weights[t] = (float(idf[column]) if column is not None
                          else 0.0 if t in self._known_stems else self._unseen_weight)
        total = sum(weights.values())
        if total <= 0:
            return 1.0
        # A stem in the passage is a posting of its column (one it is not in weighs 0:
        # in most passages, or in none).
        holds = self._matrices["word"].holds
        return sum(w for t, w in weights.items()
                   if columns[t] is not None and holds(columns[t], position)) / total

    def subject_stems(self, question: str) -> frozenset[str]:
        """The question's stems when every one is a corpus word too common to be indexed
        (in more than ``MAX_WORD_DF`` of the passages), else none: "What is zsh?" in the
        zsh FAQ asks about what the whole document is about."""
        stems = self._stems(question)
        if all(t in self._known_stems and t not in self._word.vocabulary for t in stems):
            return stems
        return frozenset()

    def scores(self, question: str) -> np.ndarray:
        """The score of every passage for ``question``: its match blended with its section's.

        Only the postings of the question's word and character features are read.
        """
        word, char, _ = self._query(question)
        words, chars, section_words, section_chars = self._postings
        tables = self._log_tables
        word_idf, char_idf = self._word.idf, self._char.idf
        own_chars = _dot(chars, char, char_idf, tables["char"])
        if self._char_place is not None:
            own_chars = own_chars.take(self._char_place)
        own = _blend(_dot(words, word, word_idf, tables["word"]), own_chars)
        section = _blend(_dot(section_words, word, word_idf, tables["section_word"]),
                         _dot(section_chars, char, char_idf, tables["section_char"]))
        # (1 - SECTION_WEIGHT) * own + SECTION_WEIGHT * section[section_of], written into
        # arrays made here: the same products and sum, two corpus-long arrays fewer.
        own *= 1.0 - SECTION_WEIGHT
        section = section.take(self._section_of)
        section *= SECTION_WEIGHT
        own += section
        return own

    def matrix(self, name: str) -> sp.csc_matrix:
        """The TF-IDF matrix ``name`` (one of :data:`MATRICES`) whole, as scikit-learn
        would give it: the reference for the tests and benchmarks, made on request, never
        used to answer."""
        space = self._word if name.endswith("word") else self._char
        matrix = self._matrices[name].to_csc(space.idf)
        if name == "char" and self._char_place is not None:
            matrix = sp.csc_matrix(matrix[self._char_place])
        matrix.sort_indices()
        return matrix

    def full_matrix_scores(self, question: str) -> np.ndarray:
        """:meth:`scores` the old way: every passage's row times the dense question
        vectors, at a cost that grows with the corpus. The reference for the tests and the
        benchmarks; not used to answer."""
        word, char = (_dense(terms, space) for terms, space in
                      zip(self._query(question)[:2], (self._word, self._char), strict=True))
        m = self._full_matrices
        own = _blend(m["word"] @ word, m["char"] @ char)
        section = _blend(m["section_word"] @ word, m["section_char"] @ char)
        return (1.0 - SECTION_WEIGHT) * own + SECTION_WEIGHT * section[self._section_of]

    @cached_property
    def _full_matrices(self) -> dict[str, sp.csr_matrix]:
        return {name: self.matrix(name).tocsr()
                for name in ("word", "char", "section_word", "section_char")}

    def similarity(self, question: str, texts: list[str]) -> np.ndarray:
        """The blended cosine score of each of ``texts`` (e.g. sentences) for ``question``.

        Every text's word and character vectors are weighted at once
        (:meth:`_joint_vectors`) and each one's dot product with the question's is summed
        in feature order (:func:`_dots`): the numbers of one sparse product per text and
        space, without a Python loop over texts."""
        vectors = self._joint_vectors([self._columns(t) for t in texts])
        sums = _dots(vectors, self._query(question)[2], 2 * len(texts))
        return _blend(sums[0::2], sums[1::2])

    def _analyze(self, question: str) -> tuple[_Terms, _Terms, _Terms]:
        """The question's word and character TF-IDF vectors as (feature, weight) pairs,
        then both as one vector of the joint column space of :meth:`_joint_vectors`
        (read-only: :attr:`_query` hands the same arrays to every caller)."""
        columns = self._columns(question)
        _, feature, weight = self._joint_vectors([columns])
        words = len(set(columns[0]))  # the word vector's entries come first
        out = ((feature[:words], weight[:words]),
               (feature[words:] - len(self._word.idf), weight[words:]), (feature, weight))
        for terms in out:
            for array in terms:
                array.flags.writeable = False
        return out

    def _columns(self, text: str) -> tuple[list[int], list[int]]:
        """``text``'s word and character feature columns (:meth:`_word_columns`,
        :meth:`_char_columns`)."""
        return self._word_columns(text), self._char_columns(text)

    def _joint_vectors(self, texts: list[tuple[list[int], list[int]]]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`_vectors` of each text's word vector and character vector in one joint
        column space (a character column follows the word columns): entry ``2 * i`` is
        text ``i``'s word vector, ``2 * i + 1`` its character vector."""
        idf = self._joint_idf
        width = max(len(idf), 1)  # as _vectors counts it
        offsets = np.arange(0, 2 * len(texts) * width, width)
        offsets[1::2] += len(self._word.idf)
        return _vectors(idf, list(chain.from_iterable(texts)), offsets)

    @cached_property
    def _joint_idf(self) -> np.ndarray:
        """The word idf, then the character idf: the joint column space's."""
        return np.concatenate([self._word.idf, self._char.idf])

    def _word_columns(self, text: str) -> list[int]:
        """The columns of ``text``'s known word features, in text order, repeats kept."""
        get = self._word.vocabulary.get
        return [c for c in map(get, analyze_words(text)) if c is not None]

    def _char_columns(self, text: str) -> list[int]:
        """The columns of ``text``'s known character n-grams, repeats kept, each word's
        looked up once (a word's ``char_wb`` n-grams depend on the word alone)."""
        return list(chain.from_iterable(map(self._ngram_columns, normalize(text).split())))

    def _columns_of_word(self, word: str) -> tuple[int, ...]:
        get = self._char.vocabulary.get
        return tuple(c for c in map(get, word_ngrams(word)) if c is not None)

    # --- persistence (the Ranker writes and verifies the files) ----------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The index's arrays by name: each count matrix's parts, the idf vectors and
        each passage's section number."""
        arrays: dict[str, np.ndarray] = {}
        for name, matrix in self._matrices.items():
            arrays.update(matrix.arrays(name))
        arrays["word_idf"] = self._word.idf
        arrays["char_idf"] = self._char.idf
        arrays["section_of"] = self._section_of
        arrays["char_order"] = self._char_order
        return arrays

    def term_lists(self) -> dict[str, list[str]]:
        """The word and character terms in column order, the corpus's stems and surface
        words: the lists saved beside the arrays, one term a line."""
        return {"word_terms": _in_column_order(self._word.vocabulary),
                "char_terms": _in_column_order(self._char.vocabulary),
                "stems": sorted(self._known_stems),
                "surface": sorted(self._surface_words)}

    @classmethod
    def from_saved(cls, passages: Sequence[Passage], arrays: Mapping[str, np.ndarray],
                   terms: Mapping[str, list[str]]) -> LexicalIndex:
        """Rebuild an index from :meth:`arrays` and :meth:`term_lists` after checking them.

        Every matrix must be well formed (indptr from 0 rising to nnz, row indices inside
        the passages or sections, positive counts, finite positive norms) with one column
        per term; anything else raises :class:`IndexFormatError` saying what is wrong.
        """
        word_vocabulary = _checked_terms(terms.get("word_terms"), "word")
        char_vocabulary = _checked_terms(terms.get("char_terms"), "char")
        columns = {"word": len(word_vocabulary), "char": len(char_vocabulary)}
        try:
            section_of = np.asarray(arrays["section_of"])
        except KeyError:
            raise IndexFormatError("section numbers are missing") from None
        if (section_of.shape != (len(passages),) or section_of.dtype.kind not in "iu"
                or not len(section_of) or section_of.min() != 0
                or not np.bincount(section_of).all()):
            raise IndexFormatError("section numbers do not match the passages")
        sections = int(section_of.max()) + 1
        matrices = {}
        for name in MATRICES:
            rows = len(passages) if name in ("word", "char") else sections
            matrices[name] = CountColumns.from_saved(arrays, name, rows,
                                                     columns[name.split("_")[-1]])
        idf = {}
        for name in ("word", "char"):
            values = np.asarray(arrays.get(f"{name}_idf", np.zeros(0)))
            if values.shape != (columns[name],) or not np.all(np.isfinite(values)):
                raise IndexFormatError(f"{name} idf does not match its vocabulary")
            idf[name] = values
        order = np.asarray(arrays.get("char_order", np.zeros(0)))
        if (order.shape != (len(passages),) or order.dtype.kind not in "iu"
                or order.min() < 0 or order.max() >= len(passages)
                or not np.all(np.bincount(order, minlength=len(passages)) == 1)):
            raise IndexFormatError("the character matrix's row order is not one of the passages")
        stems, surface = terms.get("stems"), terms.get("surface")
        if not isinstance(stems, list) or not isinstance(surface, list):
            raise IndexFormatError("the corpus's word lists are missing")
        return cls(passages, Space("word", word_vocabulary, idf["word"]),
                   Space("char", char_vocabulary, idf["char"]), matrices,
                   section_of.astype(np.intp, copy=False), stems, surface,
                   order.astype(np.intp, copy=False))


_Terms = tuple[np.ndarray, np.ndarray]


def _numbered(terms: list[str]) -> dict[str, int]:
    return dict(zip(terms, range(len(terms)), strict=True))


def _in_column_order(vocabulary: Mapping[str, int]) -> list[str]:
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    return terms


def _dense(terms: _Terms, space: Space) -> np.ndarray:
    vector = np.zeros(len(space.idf))
    vector[terms[0]] = terms[1]
    return vector


def _stems(text: str) -> frozenset[str]:
    return frozenset(word_tokens(text))


def _vector(space: Space, text: str) -> _Terms:
    """The TF-IDF vector of ``text`` as (feature, weight) pairs (:func:`_vectors`), its
    features found by ``space.features``: the reference the tests hold the index's own
    lookups (:meth:`LexicalIndex._analyze`) and scikit-learn's ``transform`` to."""
    get = space.vocabulary.get
    _, features, weights = _vectors(
        space.idf, [[c for c in map(get, space.features(text)) if c is not None]], [0])
    return features, weights


def _vectors(idf: np.ndarray, texts: Sequence[Sequence[int]], offsets: Sequence[int]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The TF-IDF vectors of several texts, each given as its features' columns (repeats
    counted), as scikit-learn's ``transform`` computes them without its input validation:
    ``(1 + ln count) * idf``, divided by the text's L2 norm, whose squares are summed in
    ascending feature order (``np.bincount`` adds its weights one after the other, from
    0.0, as scikit-learn's loop does).

    Text ``i``'s columns are counted as keys ``offsets[i] + column``, which must lie in
    ``[i * len(idf), (i + 1) * len(idf))``: one sort of the keys counts every text's
    features, instead of a ``Counter`` and a sort each. Returns ``(text, feature, weight)``
    arrays, one entry per distinct key (``feature`` is the key less ``text * len(idf)``),
    by text and then ascending feature."""
    width = max(len(idf), 1)
    lengths = list(map(len, texts))
    keys = np.fromiter(chain.from_iterable(texts), dtype=np.intp, count=sum(lengths))
    keys += np.repeat(offsets, lengths)
    keys.sort()
    # Where a run of equal keys starts, and the end: the runs' lengths are the counts.
    bounds = np.empty(len(keys) + 1, dtype=bool)
    bounds[0] = bounds[-1] = True
    np.not_equal(keys[1:], keys[:-1], out=bounds[1:-1])
    bounds = bounds.nonzero()[0]
    weights = np.subtract(bounds[1:], bounds[:-1], dtype=np.float64)
    text, feature = np.divmod(keys.take(bounds[:-1]), width)
    np.log(weights, weights)
    weights += 1.0
    weights *= idf.take(feature)
    norms = np.sqrt(np.bincount(text, weights=weights * weights, minlength=len(texts)))
    norms[norms == 0.0] = 1.0  # a text without known features: nothing to divide
    weights /= norms.take(text)
    return text, feature, weights


def _dots(vectors: tuple[np.ndarray, np.ndarray, np.ndarray], terms: _Terms,
          count: int) -> np.ndarray:
    """Each of ``count`` texts' dot product (:func:`_vectors`) with the sparse vector
    ``terms``, the products summed in ascending feature order, from 0.0."""
    text, feature, weight = vectors
    features, weights = terms
    if not len(features) or not len(feature):
        return np.zeros(count)
    at = np.searchsorted(features, feature)
    np.minimum(at, len(features) - 1, out=at)
    shared = features.take(at) == feature
    sums = np.bincount(text[shared], weights=weight[shared] * weights.take(at[shared]),
                       minlength=count)
    # bincount of nothing gives integer zeros, whatever the weights.
    return sums.astype(np.float64, copy=False)


def _dot(columns: CountColumns, terms: _Terms, idf: np.ndarray,
         table: np.ndarray | None) -> np.ndarray:
    """``matrix @ vector`` for a sparse ``vector``, reading only its features' postings.

    A TF-IDF entry is ``(1 + ln count) * idf / norm``; each row's norm is taken out of its
    sum (``sum(tf * idf * weight) / norm``), so a posting costs a table lookup and a
    product, and the sum is the full product's up to rounding (about 1e-16 of a score).
    """
    features, weights = terms
    taken = columns.take(features)
    if not len(taken.rows):
        return np.zeros(columns.shape[0])
    values = (table.take(taken.counts) if table is not None
              else np.log(taken.counts.astype(np.float64)) + 1.0)
    values *= np.repeat(idf.take(features) * weights, taken.sizes)
    sums = np.bincount(taken.rows, weights=values, minlength=columns.shape[0])
    sums /= columns.norms
    return sums


def _log_table_for(counts: np.ndarray) -> np.ndarray | None:
    """``1 + ln count`` for every value of ``counts``'s type, when that type is small."""
    return log_table(int(np.iinfo(counts.dtype).max)) if counts.dtype.itemsize <= 2 else None


def _blend(words: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """``(1 - CHAR_WEIGHT) * cos_words + CHAR_WEIGHT * cos_chars`` for each row, written
    into ``words`` and ``chars`` (float64 arrays the caller made and gives up): the same
    products and sum without allocating three more arrays."""
    words *= 1.0 - CHAR_WEIGHT
    chars *= CHAR_WEIGHT
    words += chars
    return words


def _checked_terms(terms: object, name: str) -> dict[str, int]:
    if not isinstance(terms, list) or not terms:
        raise IndexFormatError(f"{name} vocabulary is missing")
    vocabulary = _numbered([str(t) for t in terms])
    if len(vocabulary) != len(terms):
        raise IndexFormatError(f"{name} vocabulary repeats a term")
    return vocabulary
