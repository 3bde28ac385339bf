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

Scoring goes through the question's postings: each matrix is also kept column by column
(CSC, derived from the saved CSR when the index is built or loaded), and a question reads
only the columns of its own features, so its cost grows with those features' postings,
not with the corpus. Each passage's score is the sum of the same products as the full
sparse-matrix-times-dense-vector product, added in ascending feature order where the full
product follows the row's stored order (scikit-learn's fit leaves it in first-seen order),
so the two differ by rounding alone (at most 1.1e-16 on every gold question);
:meth:`LexicalIndex.full_matrix_scores` keeps the full product as the reference the tests
and ``benchmarks/scale.py`` compare against.

The index also owns the question-side word tools the answer layer needs: spelling
correction against the corpus's own words and the idf-weighted coverage of a question's
content words. :class:`~qabot.retrieval.ranker.Ranker` saves and verifies its arrays.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
import Stemmer
from sklearn.feature_extraction.text import TfidfVectorizer

from ..errors import IndexFormatError
from ..passages import Passage

__all__ = [
    "CHAR_WEIGHT",
    "SECTION_WEIGHT",
    "LexicalIndex",
    "analyze_words",
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


def _word_vectorizer(
    vocabulary: dict[str, int] | None = None, *, min_df_count: int = 0
) -> TfidfVectorizer:
    # Document frequency says nothing in a tiny corpus (in one passage every word is in
    # 100% of passages), so MAX_WORD_DF applies only from MIN_PASSAGES_FOR_MAX_DF on.
    prune = vocabulary is None and min_df_count >= MIN_PASSAGES_FOR_MAX_DF
    return TfidfVectorizer(
        analyzer=analyze_words, sublinear_tf=True, smooth_idf=True, norm="l2",
        max_df=MAX_WORD_DF if prune else 1.0, vocabulary=vocabulary, dtype=np.float64,
    )


def _char_vectorizer(vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), preprocessor=normalize, sublinear_tf=True,
        smooth_idf=True, norm="l2", vocabulary=vocabulary, dtype=np.float64,
    )


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


class LexicalIndex:
    """A TF-IDF index over passages: build once, query many times."""

    def __init__(
        self,
        passages: tuple[Passage, ...],
        word_vectorizer: TfidfVectorizer,
        word_matrix: sp.csr_matrix,
        char_vectorizer: TfidfVectorizer,
        char_matrix: sp.csr_matrix,
        section_matrices: tuple[sp.csr_matrix, sp.csr_matrix] | None = None,
    ) -> None:
        self.passages = passages
        self._word_vectorizer = word_vectorizer
        self._word_matrix = word_matrix
        self._char_vectorizer = char_vectorizer
        self._char_matrix = char_matrix
        # Derived from the passages, so never saved: the corpus's own words (for spelling
        # correction) and each passage's stems (for question-term coverage).
        texts = [indexed_text(p) for p in passages]
        self._passage_stems = [frozenset(word_tokens(t)) for t in texts]
        surface = {w for t in texts for w in _WORD.findall(normalize(t))}
        self._known_stems = frozenset().union(*self._passage_stems) if passages else frozenset()
        self._surface_words = frozenset(surface)
        # Spelling candidates by first letter: a typo rarely changes the first letter.
        self._spelling_candidates: dict[str, list[str]] = {}
        for word in sorted(w for w in surface if len(w) >= 4 and w.isalpha()):
            self._spelling_candidates.setdefault(word[0], []).append(word)
        vocabulary = word_vectorizer.vocabulary_
        idf = word_vectorizer.idf_
        self._term_weight = {t: float(idf[i]) for t, i in vocabulary.items() if " " not in t}
        self._unseen_weight = float(idf.max()) if len(idf) else 1.0
        # The sections' TF-IDF rows cost a second pass over the text: saved with the index.
        self._section_of = section_numbers(passages)
        if section_matrices is None:
            sections = section_texts(passages, self._section_of)
            section_matrices = (word_vectorizer.transform(sections).tocsr(),
                                char_vectorizer.transform(sections).tocsr())
        self._section_words, self._section_chars = section_matrices
        count = int(self._section_of.max()) + 1 if len(passages) else 0
        if not (self._section_words.shape[0] == self._section_chars.shape[0] == count):
            raise IndexFormatError("section matrices do not match the passages' sections")
        # The postings: each matrix column by column, so a question reads only its features.
        self._postings = tuple(_columns(m) for m in (word_matrix, char_matrix,
                                                     self._section_words, self._section_chars))

    @classmethod
    def build(cls, passages: tuple[Passage, ...] | list[Passage]) -> LexicalIndex:
        """Fit both TF-IDF spaces on the passages."""
        passages = tuple(passages)
        if not passages:
            raise IndexFormatError("cannot index an empty list of passages")
        texts = [indexed_text(p) for p in passages]
        word_vectorizer = _word_vectorizer(min_df_count=len(texts))
        try:
            word_matrix = word_vectorizer.fit_transform(texts)
        except ValueError:  # no word survives: only stop words in the whole corpus
            word_vectorizer = _word_vectorizer({"\x00": 0})
            word_matrix = word_vectorizer.fit_transform(texts)
        char_vectorizer = _char_vectorizer()
        char_matrix = char_vectorizer.fit_transform(texts)
        return cls(passages, word_vectorizer, word_matrix.tocsr(), char_vectorizer,
                   char_matrix.tocsr())

    def __len__(self) -> int:
        return len(self.passages)

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
            candidates = self._spelling_candidates.get(low[0], [])
            close = difflib.get_close_matches(low, candidates, n=1, cutoff=SPELLING_CUTOFF)
            return close[0] if close else word

        return _WORD.sub(fix, question)

    def coverage(self, question: str, position: int) -> float:
        """The idf-weighted share of the question's content words found in a passage.

        ``sum(idf(t) for t in Q & P) / sum(idf(t) for t in Q)`` over the question's stems
        ``Q`` and the passage's (section included) stems ``P``; words the corpus never uses
        weigh as the rarest word, words in most passages weigh nothing. 1.0 for a question
        with no content words.
        """
        stems = set(word_tokens(question))
        weights = {
            t: self._term_weight.get(t, 0.0 if t in self._known_stems else self._unseen_weight)
            for t in stems
        }
        total = sum(weights.values())
        if total <= 0:
            return 1.0
        found = self._passage_stems[position]
        return sum(w for t, w in weights.items() if t in found) / total

    def scores(self, question: str) -> np.ndarray:
        """The score of every passage for ``question``: its match blended with its section's.

        Only the postings of the question's word and character features are read.
        """
        query = self._query(question)
        words, chars, section_words, section_chars = self._postings
        own = _blend(_dot(words, query[0]), _dot(chars, query[1]))
        section = _blend(_dot(section_words, query[0]), _dot(section_chars, query[1]))
        return (1.0 - SECTION_WEIGHT) * own + SECTION_WEIGHT * section[self._section_of]

    def full_matrix_scores(self, question: str) -> np.ndarray:
        """:meth:`scores` the old way: every row of every matrix times the dense question
        vectors, at a cost that grows with the corpus. The reference for the tests and the
        benchmarks; not used to answer."""
        word = self._word_vectorizer.transform([question]).toarray().ravel()
        char = self._char_vectorizer.transform([question]).toarray().ravel()
        own = _blend(self._word_matrix @ word, self._char_matrix @ char)
        section = _blend(self._section_words @ word, self._section_chars @ char)
        return (1.0 - SECTION_WEIGHT) * own + SECTION_WEIGHT * section[self._section_of]

    def similarity(self, question: str, texts: list[str]) -> np.ndarray:
        """The blended cosine score of each of ``texts`` (e.g. sentences) for ``question``."""
        word, char = self._query(question)
        words = [_sparse_dot(_vector(self._word_vectorizer, t), word) for t in texts]
        chars = [_sparse_dot(_vector(self._char_vectorizer, t), char) for t in texts]
        return _blend(np.array(words, dtype=np.float64), np.array(chars, dtype=np.float64))

    def _query(self, question: str) -> tuple[_Terms, _Terms]:
        """The question's word and character TF-IDF vectors as (feature, weight) pairs."""
        return _vector(self._word_vectorizer, question), _vector(self._char_vectorizer, question)

    # --- persistence (the Ranker writes and verifies the files) ----------------------

    def arrays(self) -> dict[str, np.ndarray]:
        """The index's arrays by name: each TF-IDF matrix as CSR parts, and the idf vectors."""
        arrays: dict[str, np.ndarray] = {}
        for name, matrix in self._matrices().items():
            arrays[f"{name}_data"] = matrix.data
            arrays[f"{name}_indices"] = matrix.indices
            arrays[f"{name}_indptr"] = matrix.indptr
            arrays[f"{name}_shape"] = np.array(matrix.shape, dtype=np.int64)
        arrays["word_idf"] = self._word_vectorizer.idf_
        arrays["char_idf"] = self._char_vectorizer.idf_
        return arrays

    def vocabularies(self) -> dict[str, dict[str, int]]:
        """The word and character vocabularies (term -> column), JSON-ready."""
        return {"word_vocabulary": _plain_vocabulary(self._word_vectorizer),
                "char_vocabulary": _plain_vocabulary(self._char_vectorizer)}

    def _matrices(self) -> dict[str, sp.csr_matrix]:
        return {"word": self._word_matrix, "char": self._char_matrix,
                "section_word": self._section_words, "section_char": self._section_chars}

    @classmethod
    def from_saved(cls, passages: tuple[Passage, ...], arrays: Mapping[str, np.ndarray],
                   vocabularies: Mapping[str, Any]) -> LexicalIndex:
        """Rebuild an index from :meth:`arrays` and :meth:`vocabularies` after checking them.

        Every matrix must be a well-formed CSR matrix (indptr from 0 rising to nnz, column
        indices inside the vocabulary, finite values) with one row per passage (or per
        section); anything else raises :class:`IndexFormatError` saying what is wrong.
        """
        word_vocabulary = _checked_vocabulary(vocabularies.get("word_vocabulary"), "word")
        char_vocabulary = _checked_vocabulary(vocabularies.get("char_vocabulary"), "char")
        columns = {"word": len(word_vocabulary), "char": len(char_vocabulary)}
        sections = int(section_numbers(passages).max()) + 1 if passages else 0
        matrices = {}
        for name in ("word", "char", "section_word", "section_char"):
            rows = sections if name.startswith("section") else len(passages)
            matrices[name] = _checked_csr(arrays, name, rows, columns[name.split("_")[-1]])
        idf = {}
        for name in ("word", "char"):
            values = np.asarray(arrays[f"{name}_idf"])
            if values.shape != (columns[name],) or not np.all(np.isfinite(values)):
                raise IndexFormatError(f"{name} idf does not match its vocabulary")
            idf[name] = values.astype(np.float64, copy=False)
        word_vectorizer = _word_vectorizer(word_vocabulary)
        word_vectorizer.idf_ = idf["word"]
        char_vectorizer = _char_vectorizer(char_vocabulary)
        char_vectorizer.idf_ = idf["char"]
        return cls(passages, word_vectorizer, matrices["word"], char_vectorizer,
                   matrices["char"], (matrices["section_word"], matrices["section_char"]))


_Terms = tuple[np.ndarray, np.ndarray]


def _terms(row: sp.spmatrix) -> _Terms:
    """A one-row sparse vector's nonzero features in ascending order, and their weights."""
    row = sp.csr_matrix(row)
    row.sum_duplicates()  # also sorts the features
    return row.indices.astype(np.intp), row.data


def _vector(vectorizer: TfidfVectorizer, text: str) -> _Terms:
    """``vectorizer.transform([text])`` as (feature, weight) pairs, computed as scikit-learn
    computes it (counts of the analyser's known features, ``1 + ln(count)``, times idf,
    divided by the L2 norm summed in feature order) without its input validation, which
    costs a question about twenty times the arithmetic."""
    vocabulary, counts = vectorizer.vocabulary_, {}
    for feature in vectorizer.build_analyzer()(text):
        column = vocabulary.get(feature)
        if column is not None:
            counts[column] = counts.get(column, 0) + 1
    features = np.array(sorted(counts), dtype=np.intp)
    weights = np.array([counts[f] for f in features.tolist()], dtype=np.float64)
    np.log(weights, weights)
    weights += 1.0
    weights *= vectorizer.idf_[features]
    norm = 0.0
    for weight in weights.tolist():
        norm += weight * weight
    if norm:
        weights /= math.sqrt(norm)
    return features, weights


def _columns(matrix: sp.spmatrix) -> sp.csc_matrix:
    """``matrix`` column by column (each column's rows ascending): one feature's postings."""
    columns = sp.csc_matrix(matrix)
    columns.sort_indices()
    return columns


def _dot(columns: sp.csc_matrix, terms: _Terms) -> np.ndarray:
    """``matrix @ vector`` for a sparse ``vector``, reading only its features' postings.

    Each row's products are added in ascending feature order starting from zero: the
    very numbers of the CSR product when the row's features are stored in that order (a
    zero feature adds exactly 0.0 there), equal up to rounding otherwise.
    """
    features, weights = terms
    starts = columns.indptr[features]
    counts = columns.indptr[features + 1] - starts
    total = int(counts.sum())
    if not total:
        return np.zeros(columns.shape[0])
    # Positions of every posting of every feature, feature after feature.
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
    products = columns.data[offsets] * np.repeat(weights, counts)
    return np.bincount(columns.indices[offsets], weights=products, minlength=columns.shape[0])


def _sparse_dot(a: _Terms, b: _Terms) -> float:
    """The dot product of two sparse vectors, summed in feature order."""
    _, left, right = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
    total = 0.0
    for product in (a[1][left] * b[1][right]).tolist():
        total += product
    return total


def _blend(words: np.ndarray, chars: np.ndarray) -> np.ndarray:
    """``(1 - CHAR_WEIGHT) * cos_words + CHAR_WEIGHT * cos_chars`` for each row."""
    return (1.0 - CHAR_WEIGHT) * words + CHAR_WEIGHT * chars


def _checked_vocabulary(vocabulary: object, name: str) -> dict[str, int]:
    if not isinstance(vocabulary, dict) or not vocabulary:
        raise IndexFormatError(f"{name} vocabulary is missing")
    columns = sorted(vocabulary.values()) if all(
        isinstance(v, int) and not isinstance(v, bool) for v in vocabulary.values()) else None
    if columns != list(range(len(vocabulary))):
        raise IndexFormatError(f"{name} vocabulary does not number its columns 0..n-1")
    return {str(term): int(column) for term, column in vocabulary.items()}


def _checked_csr(arrays: Mapping[str, np.ndarray], name: str, rows: int,
                 columns: int) -> sp.csr_matrix:
    """A CSR matrix from saved parts, refused unless every part is consistent."""
    try:
        data = np.asarray(arrays[f"{name}_data"])
        indices = np.asarray(arrays[f"{name}_indices"])
        indptr = np.asarray(arrays[f"{name}_indptr"])
        shape = tuple(int(x) for x in np.asarray(arrays[f"{name}_shape"]).tolist())
    except (KeyError, TypeError, ValueError):
        raise IndexFormatError(f"{name} matrix is missing or malformed") from None
    if shape != (rows, columns):
        raise IndexFormatError(f"{name} matrix is {shape}, expected {(rows, columns)}")
    if data.dtype.kind != "f" or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
        raise IndexFormatError(f"{name} matrix has the wrong array types")
    nnz = len(data)
    if (data.ndim != 1 or indices.shape != (nnz,) or indptr.shape != (rows + 1,)
            or indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0)):
        raise IndexFormatError(f"{name} matrix has an inconsistent row structure")
    if nnz and (indices.min() < 0 or indices.max() >= columns):
        raise IndexFormatError(f"{name} matrix has a column index out of range")
    if not np.all(np.isfinite(data)):
        raise IndexFormatError(f"{name} matrix holds a value that is not finite")
    return sp.csr_matrix((data.astype(np.float64, copy=False), indices, indptr), shape=shape)


def _plain_vocabulary(vectorizer: TfidfVectorizer) -> dict[str, int]:
    return {term: int(i) for term, i in vectorizer.vocabulary_.items()}
