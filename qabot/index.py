"""Index passages for retrieval: TF-IDF (scikit-learn) over words and characters, cosine scores.

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
heading, read as one text) at ``SECTION_WEIGHT``, times a prior that is 1 except for
bibliography entries (``CITATION_WEIGHT``): a question whose words are spread over a
section's passages then finds that section even when no single passage holds them all.

An index is saved as ``index.npz`` (arrays only, loaded with ``allow_pickle=False``) and
``index.json`` (vocabularies, passages, the qabot version and the corpus hash); a saved
index whose version or hash differs from what is expected is refused, never used.
"""

from __future__ import annotations

import difflib
import json
import re
import threading
import unicodedata
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import Stemmer
from sklearn.feature_extraction.text import TfidfVectorizer

from .errors import IndexFormatError
from .passages import Passage

__all__ = [
    "CHAR_WEIGHT",
    "INDEX_FORMAT",
    "SECTION_WEIGHT",
    "Hit",
    "PassageIndex",
    "analyze_words",
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
INDEX_FORMAT = 2
SPELLING_CUTOFF = 0.85
#: Bibliography entries ("Betts, A. (2006). Title. Publisher.") name the subject in every
#: line yet rarely answer a question about it, so their scores are scaled by this.
CITATION_WEIGHT = 0.7
_CITATION = re.compile(r"\(\d{4}[a-z]?\)\.\s+\S")
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


def passage_prior(passage: Passage) -> float:
    """A passage's weight before any question: ``CITATION_WEIGHT`` for a bibliography entry."""
    return CITATION_WEIGHT if _CITATION.search(passage.text[:200]) else 1.0


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


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its position in the index and its score."""

    passage: Passage
    position: int
    score: float


class PassageIndex:
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
        self._prior = np.array([passage_prior(p) for p in passages], dtype=np.float64)
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

    @classmethod
    def build(cls, passages: tuple[Passage, ...] | list[Passage]) -> PassageIndex:
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
        """The score of every passage for ``question``: its match blended with its section's."""
        query = self._query(question)
        own = self._blend(query, self._word_matrix, self._char_matrix)
        section = self._blend(query, self._section_words, self._section_chars)
        blended = (1.0 - SECTION_WEIGHT) * own + SECTION_WEIGHT * section[self._section_of]
        return blended * self._prior

    def similarity(self, question: str, texts: list[str]) -> np.ndarray:
        """The blended cosine score of each of ``texts`` (e.g. sentences) for ``question``."""
        return self._blend(self._query(question), self._word_vectorizer.transform(texts),
                           self._char_vectorizer.transform(texts))

    def _query(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """The question's word and character TF-IDF vectors, dense (a sparse matrix times a
        dense vector is far cheaper than sparse times sparse)."""
        word = self._word_vectorizer.transform([question]).toarray().ravel()
        char = self._char_vectorizer.transform([question]).toarray().ravel()
        return word, char

    @staticmethod
    def _blend(query: tuple[np.ndarray, np.ndarray], words: sp.spmatrix,
               chars: sp.spmatrix) -> np.ndarray:
        """``(1 - CHAR_WEIGHT) * cos_words + CHAR_WEIGHT * cos_chars`` for each row."""
        word, char = query
        return (1.0 - CHAR_WEIGHT) * (words @ word) + CHAR_WEIGHT * (chars @ char)

    def search(self, question: str, k: int = 3) -> list[Hit]:
        """The ``k`` best passages, best first (ties keep corpus order)."""
        return self.top(self.scores(question), k)

    def top(self, scores: np.ndarray, k: int) -> list[Hit]:
        """The ``k`` highest of ``scores`` as hits, without sorting all of them."""
        k = max(0, min(k, len(scores)))
        if k == 0:
            return []
        candidates = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(
            len(scores))
        order = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
        return [Hit(self.passages[i], i, float(scores[i])) for i in order]

    # --- persistence -------------------------------------------------------------------

    def save(self, directory: str | Path, *, version: str, corpus_hash: str) -> None:
        """Write ``index.npz`` + ``index.json`` into ``directory`` (created if needed)."""
        try:
            self._save(Path(directory), version=version, corpus_hash=corpus_hash)
        except OSError as exc:
            raise IndexFormatError(
                f"{directory}: cannot save the index ({exc.strerror or exc})"
            ) from None

    def _save(self, directory: Path, *, version: str, corpus_hash: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for name, matrix, vectorizer in (
            ("word", self._word_matrix, self._word_vectorizer),
            ("char", self._char_matrix, self._char_vectorizer),
        ):
            arrays[f"{name}_data"] = matrix.data
            arrays[f"{name}_indices"] = matrix.indices
            arrays[f"{name}_indptr"] = matrix.indptr
            arrays[f"{name}_shape"] = np.array(matrix.shape, dtype=np.int64)
            arrays[f"{name}_idf"] = vectorizer.idf_
        for name, matrix in (("section_word", self._section_words),
                             ("section_char", self._section_chars)):
            arrays[f"{name}_data"] = matrix.data
            arrays[f"{name}_indices"] = matrix.indices
            arrays[f"{name}_indptr"] = matrix.indptr
            arrays[f"{name}_shape"] = np.array(matrix.shape, dtype=np.int64)
        np.savez_compressed(directory / "index.npz", **arrays)
        meta = {
            "format": INDEX_FORMAT,
            "version": version,
            "corpus_hash": corpus_hash,
            "word_vocabulary": _plain_vocabulary(self._word_vectorizer),
            "char_vocabulary": _plain_vocabulary(self._char_vectorizer),
            "passages": [asdict(p) for p in self.passages],
        }
        (directory / "index.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: str | Path, *, version: str, corpus_hash: str) -> PassageIndex:
        """Read an index saved by :meth:`save`; refuse one of another version or corpus."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "index.json").read_text("utf-8"))
            if meta.get("format") != INDEX_FORMAT or meta.get("version") != version:
                raise IndexFormatError(f"{directory}: index written by another qabot version")
            if meta.get("corpus_hash") != corpus_hash:
                raise IndexFormatError(f"{directory}: index was built from another corpus")
            passages = tuple(
                Passage(**{**p, "parents": tuple(p.get("parents", ()))}) for p in meta["passages"]
            )
            with np.load(directory / "index.npz", allow_pickle=False) as arrays:
                matrices = {
                    name: sp.csr_matrix(
                        (arrays[f"{name}_data"], arrays[f"{name}_indices"],
                         arrays[f"{name}_indptr"]),
                        shape=tuple(int(x) for x in arrays[f"{name}_shape"]),
                    )
                    for name in ("word", "char", "section_word", "section_char")
                }
                parts = {name: (matrices[name], np.asarray(arrays[f"{name}_idf"]))
                         for name in ("word", "char")}
            word_vectorizer = _word_vectorizer(meta["word_vocabulary"])
            word_vectorizer.idf_ = parts["word"][1]
            char_vectorizer = _char_vectorizer(meta["char_vocabulary"])
            char_vectorizer.idf_ = parts["char"][1]
        except IndexFormatError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError,
                zipfile.BadZipFile) as exc:
            raise IndexFormatError(f"{directory}: unreadable index ({exc})") from None
        for name, (matrix, _) in parts.items():
            if matrix.shape[0] != len(passages):
                raise IndexFormatError(f"{directory}: {name} matrix does not match passages")
        try:
            return cls(passages, word_vectorizer, parts["word"][0], char_vectorizer,
                       parts["char"][0], (matrices["section_word"], matrices["section_char"]))
        except IndexFormatError as exc:
            raise IndexFormatError(f"{directory}: {exc}") from None


def _plain_vocabulary(vectorizer: TfidfVectorizer) -> dict[str, int]:
    return {term: int(i) for term, i in vectorizer.vocabulary_.items()}
