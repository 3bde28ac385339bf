"""The ranker: every signal scores every passage, one fusion rule ranks them.

The answer layer asks only this class. It holds the lexical signal (TF-IDF, always
present) and, unless the encoder is ``none``, the semantic signal (passage embeddings);
a passage's score is :func:`~qabot.retrieval.fusion.blend` of the two, times a prior that
is 1 except for bibliography entries (``CITATION_WEIGHT``). Adding a signal means one
module beside ``lexical.py`` and ``semantic.py`` and one line in :meth:`Ranker.scores`.

A ranker is saved as a folder of files, each written atomically (a temporary file renamed
into place), ``manifest.json`` last: one ``.npy`` file per array (plain numeric arrays,
never pickles), read back as read-only memory maps, so loading costs what is checked, not
a copy; ``*.terms`` lists (one term a line, UTF-8: the word and character vocabularies in
column order, the corpus's stems and surface words); ``index.json`` (the passages, the
qabot version, the corpus hash and the encoder's name, artifact hash and dimensions); and
``manifest.json`` (the format number and the sha256 of every other file).
:meth:`Ranker.load` reads each file once through one open handle: it hashes it, then maps
the same handle, so a file swapped in between cannot be mapped unchecked. It refuses, with
:class:`~qabot.errors.IndexFormatError`, an index of another format (saying to rebuild it),
whose files do not match the manifest (a half-written or altered index), whose stamps
differ from what is expected (another qabot, corpus or encoder), or whose arrays are
inconsistent (shapes, index ranges, non-finite values).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexFormatError
from ..passages import Passage
from .fusion import SEMANTIC_WEIGHTS, blend
from .lexical import LexicalIndex, indexed_text
from .semantic import Encoder

__all__ = [
    "CITATION_WEIGHT", "INDEX_FORMAT", "Hit", "Progress", "Ranker", "Scores", "passage_prior",
    "top_positions",
]

#: Format 4: one ``.npy`` file per array, memory-mapped; CSC matrices; term lists as text.
INDEX_FORMAT = 5
#: Passages embedded per encoder call while building (one progress step each).
EMBED_BATCH = 512
#: ``progress(stage, done, total)``: how far a build has come.
Progress = Callable[[str, int, int], None]
TERM_LISTS = ("word_terms", "char_terms", "stems", "surface")
#: The term lists' suffix: not one a corpus is read from (.txt would be, were the index folder
#: inside the corpus folder), so an index never becomes part of its own corpus.
TERMS = ".terms"
#: Files of earlier formats, removed when a newer index is saved over them.
OLD_FILES = ("index.npz",)
#: Bibliography entries ("Betts, A. (2006). Title. Publisher.") name the subject in every
#: line yet rarely answer a question about it, so their scores are scaled by this.
CITATION_WEIGHT = 0.7
_CITATION = re.compile(r"\(\d{4}[a-z]?\)\.\s+\S")


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def embed_passages(passages: tuple[Passage, ...], encoder: Encoder,
                   progress: Progress | None = None) -> np.ndarray:
    """Each passage's indexed text embedded, ``EMBED_BATCH`` at a time (one progress step
    each), written into one array as each batch comes: neither every indexed text nor every
    batch's embeddings are held beside the result (a build's memory)."""
    report = progress or _no_progress
    total, dimensions = len(passages), encoder.info.dimensions
    out = np.zeros((0, dimensions), dtype=np.float32)
    for start in range(0, total, EMBED_BATCH):
        texts = [indexed_text(p) for p in passages[start:start + EMBED_BATCH]]
        batch = encoder.encode(texts)
        if batch.shape != (len(texts), dimensions):
            raise IndexFormatError("passage embeddings do not match the passages and encoder")
        if not start:  # the type np.concatenate would give the batches and an empty float32
            out = np.empty((total, dimensions), dtype=np.result_type(out, batch))
        out[start:start + len(texts)] = batch
        report("embedding passages", min(start + EMBED_BATCH, total), total)
    return out


def passage_prior(passage: Passage) -> float:
    """A passage's weight before any question: ``CITATION_WEIGHT`` for a bibliography entry."""
    return CITATION_WEIGHT if _CITATION.search(passage.text[:200]) else 1.0


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its position in the index and its score."""

    passage: Passage
    position: int
    score: float


@dataclass(frozen=True)
class Scores:
    """One question's scores for every passage: fused, and the semantic signal's alone
    (``None`` without an encoder)."""

    fused: np.ndarray
    semantic: np.ndarray | None


class Ranker:
    """Lexical and semantic signals over one list of passages: build once, query many times."""

    def __init__(self, lexical: LexicalIndex, encoder: Encoder | None = None,
                 embeddings: np.ndarray | None = None, *,
                 semantic_weight: float | None = None) -> None:
        self.lexical = lexical
        self.passages = lexical.passages
        self.encoder = encoder
        if encoder is not None and embeddings is None:
            embeddings = embed_passages(self.passages, encoder)
        if encoder is None:
            embeddings = None
        elif embeddings is None or embeddings.shape != (len(self.passages),
                                                        encoder.info.dimensions):
            raise IndexFormatError("passage embeddings do not match the passages and encoder")
        self.embeddings = embeddings
        self.semantic_weight = float(
            SEMANTIC_WEIGHTS.get(self.encoder_name, 0.0) if semantic_weight is None
            else semantic_weight)
        self._prior = np.array([passage_prior(p) for p in self.passages], dtype=np.float64)

    @classmethod
    def build(cls, passages: tuple[Passage, ...] | list[Passage],
              encoder: Encoder | None = None, *, progress: Progress | None = None) -> Ranker:
        """Index ``passages`` with TF-IDF and, given an encoder, embed them.

        ``progress(stage, done, total)`` is called as each stage advances (for a progress
        bar: ``qabot serve`` and ``qabot index`` draw one on a terminal).
        """
        report = progress or _no_progress
        report("indexing words", 0, 1)
        lexical = LexicalIndex.build(passages)
        report("indexing words", 1, 1)
        embeddings = (None if encoder is None
                      else embed_passages(lexical.passages, encoder, report))
        return cls(lexical, encoder, embeddings)

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def encoder_name(self) -> str:
        return self.encoder.info.name if self.encoder is not None else "none"

    # --- questions -------------------------------------------------------------------

    def correct_spelling(self, question: str) -> str:
        return self.lexical.correct_spelling(question)

    def coverage(self, question: str, position: int) -> float:
        return self.lexical.coverage(question, position)

    def subject_stems(self, question: str) -> frozenset[str]:
        return self.lexical.subject_stems(question)

    def semantic_scores(self, question: str) -> np.ndarray | None:
        """Cosine of the question with every passage, or ``None`` without an encoder."""
        if self.encoder is None or self.embeddings is None:
            return None
        return self.embeddings @ self.encoder.encode([question])[0]

    def score(self, question: str) -> Scores:
        """Every passage's fused score for ``question``, with the semantic scores apart."""
        semantic = self.semantic_scores(question)
        lexical = self.lexical.scores(question)
        if self._unit_prior:
            # Times 1.0 changes no number: spare a corpus-long product.
            return Scores(blend(lexical, semantic, self.semantic_weight), semantic)
        if semantic is None:
            return Scores(lexical * self._prior, None)
        fused = blend(lexical, semantic, self.semantic_weight)  # a new array, ours to reuse
        if fused.dtype != self._prior.dtype:
            return Scores(fused * self._prior, semantic)
        return Scores(np.multiply(fused, self._prior, out=fused), semantic)

    @cached_property
    def _unit_prior(self) -> bool:
        """True when no passage is weighted (no bibliography entry): the prior is all 1."""
        return bool(np.all(self._prior == 1.0))

    def scores(self, question: str) -> np.ndarray:
        """Every passage's fused score for ``question``."""
        return self.score(question).fused

    def similarity(self, question: str, texts: list[str]) -> np.ndarray:
        """The lexical score of each of ``texts`` (e.g. a passage's sentences) for
        ``question``. The semantic signal is left out on purpose: embedding every sentence
        of an answer would cost more than the whole question (several transformer passes),
        for a highlight inside a passage already chosen."""
        return self.lexical.similarity(question, texts)

    def search(self, question: str, k: int = 3) -> list[Hit]:
        """The ``k`` best passages, best first (ties keep corpus order)."""
        return self.top(self.scores(question), k)

    def top(self, scores: np.ndarray, k: int) -> list[Hit]:
        """The ``k`` highest of ``scores`` as hits, without sorting all of them."""
        k = max(0, min(k, len(scores)))
        if k == 0:
            return []
        candidates = top_positions(scores, k)
        # Sorted as (-score, position) pairs of Python numbers: cheaper than indexing the
        # array once per comparison key.
        order = sorted(zip((-scores[candidates]).tolist(), candidates.tolist(), strict=True))
        return [Hit(self.passages[i], i, -score) for score, i in order]

    # --- persistence -----------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str], *, version: str, corpus_hash: str) -> None:
        """Write the index into ``directory`` (created if needed), each file atomically."""
        directory = Path(directory)
        try:
            self._save(directory, version=version, corpus_hash=corpus_hash)
        except OSError as exc:
            raise IndexFormatError(
                f"{directory}: cannot save the index ({exc.strerror or exc})"
            ) from None

    def _save(self, directory: Path, *, version: str, corpus_hash: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays = self.lexical.arrays()
        if self.embeddings is not None:
            arrays["embeddings"] = self.embeddings
        meta = {
            "format": INDEX_FORMAT,
            "version": version,
            "corpus_hash": corpus_hash,
            "encoder": asdict(self.encoder.info) if self.encoder is not None else None,
            "arrays": sorted(arrays),
            "passages": _columns(self.passages),
        }
        digests = {}
        for name, array in arrays.items():
            digests[f"{name}.npy"] = _write_atomically(
                directory / f"{name}.npy", lambda handle, a=array: np.save(
                    handle, np.ascontiguousarray(a), allow_pickle=False))
        for name, terms in self.lexical.term_lists().items():
            digests[f"{name}{TERMS}"] = _write_bytes(directory / f"{name}{TERMS}",
                                                  "\n".join(terms).encode("utf-8"))
        digests["index.json"] = _write_atomically(
            directory / "index.json", lambda handle: handle.writelines(_json_pieces(meta)))
        manifest = {"format": INDEX_FORMAT, "sha256": digests}
        # The manifest goes last: until it is in place, a reader sees the old manifest,
        # which the new files do not match, and refuses them.
        _write_bytes(directory / "manifest.json", json.dumps(manifest).encode("utf-8"))
        for name in OLD_FILES:
            (directory / name).unlink(missing_ok=True)
        for path in directory.glob("*.npy"):  # arrays of an index of another format
            if path.stem not in arrays:
                path.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], *, version: str, corpus_hash: str,
             encoder: Encoder | None) -> Ranker:
        """Read an index saved by :meth:`save`, verified; refuse a stale or damaged one."""
        directory = Path(directory)
        try:
            return cls._load(directory, version=version, corpus_hash=corpus_hash,
                             encoder=encoder)
        except IndexFormatError as exc:
            raise IndexFormatError(f"{directory}: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
                UnicodeDecodeError) as exc:
            raise IndexFormatError(f"{directory}: unreadable index ({exc})") from None

    @classmethod
    def _load(cls, directory: Path, *, version: str, corpus_hash: str,
              encoder: Encoder | None) -> Ranker:
        manifest = json.loads((directory / "manifest.json").read_bytes())
        if not isinstance(manifest, dict) or manifest.get("format") != INDEX_FORMAT:
            raise IndexFormatError(
                f"index of another format ({_format_label(manifest)}, this qabot reads "
                f"format {INDEX_FORMAT}): rebuild it (qabot index, or delete the folder)")
        expected = manifest.get("sha256")
        if not isinstance(expected, dict):
            raise IndexFormatError("manifest lists no files")
        meta = json.loads(_verified(directory, "index.json", expected))
        if not isinstance(meta, dict):
            raise IndexFormatError("index.json is not an object")
        if meta.get("format") != INDEX_FORMAT or meta.get("version") != version:
            raise IndexFormatError("index written by another qabot version")
        if meta.get("corpus_hash") != corpus_hash:
            raise IndexFormatError("index was built from another corpus")
        wanted = asdict(encoder.info) if encoder is not None else None
        if meta.get("encoder") != wanted:
            raise IndexFormatError(
                f"index was built with another encoder ({_encoder_label(meta.get('encoder'))}, "
                f"expected {_encoder_label(wanted)})"
            )
        passages = _passages(meta.get("passages"))
        if not passages:
            raise IndexFormatError("index holds no passages")
        names = meta.get("arrays")
        if not isinstance(names, list) or not all(isinstance(n, str) and n.isidentifier()
                                                  for n in names):
            raise IndexFormatError("index.json lists no arrays")
        # Hashing is most of a load and hashlib releases the GIL: one file per core at once.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            mapped = pool.map(lambda name: _mapped(directory, f"{name}.npy", expected), names)
            texts = pool.map(lambda name: _verified(directory, f"{name}{TERMS}", expected),
                             TERM_LISTS)
            arrays = dict(zip(names, mapped, strict=True))
            terms = {name: text.decode("utf-8").split("\n")
                     for name, text in zip(TERM_LISTS, texts, strict=True)}
        lexical = LexicalIndex.from_saved(passages, arrays, terms)
        embeddings = None
        if encoder is not None:
            embeddings = arrays.get("embeddings")
            if (embeddings is None
                    or embeddings.shape != (len(passages), encoder.info.dimensions)
                    or embeddings.dtype != np.float32 or not np.all(np.isfinite(embeddings))):
                raise IndexFormatError("passage embeddings do not match the passages and "
                                       "encoder")
        return cls(lexical, encoder, embeddings)


#: :func:`top_positions` first takes every this-many-th score as a sample.
TOP_SAMPLE = 8


def top_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """The positions of the ``k`` highest ``scores`` (``0 < k``), in no order: the very set
    ``np.argpartition(-scores, k - 1)[:k]`` gives, at a fraction of its cost on a large
    corpus.

    The ``k``-th highest of a sample (every ``TOP_SAMPLE``-th score) is at most the
    ``k``-th highest of all, so the scores that reach it hold the ``k`` best, and usually
    few others: the ``k`` best are found among those. When a score equal to the ``k``-th
    best is left out (a tie at the edge), which of the tied passages is kept is
    ``argpartition``'s choice, so it is asked, as before; likewise when the sample lets
    through too many scores to save anything.
    """
    n = len(scores)
    if k >= n:
        return np.arange(n)
    sample = scores[::TOP_SAMPLE]
    if len(sample) > k:
        floor = -np.partition(-sample, k - 1)[k - 1]
        wide = np.flatnonzero(scores >= floor)
        if len(wide) <= n // 4:
            near = scores[wide]
            kth = -np.partition(-near, k - 1)[k - 1]
            best = wide[near >= kth]
            if len(best) == k:
                return best
    return np.argpartition(-scores, k - 1)[:k]


_FIELDS = tuple(field.name for field in fields(Passage))


def _columns(passages: tuple[Passage, ...]) -> dict[str, list[Any]]:
    """The passages field by field (one JSON list per field: quicker to read than one
    object per passage)."""
    return {name: [getattr(p, name) for p in passages] for name in _FIELDS}


def _json_pieces(value: Any, items: int = 4096) -> Iterator[bytes]:
    """``json.dumps(value, ensure_ascii=False)`` in UTF-8, byte for byte, in pieces: a
    dict of str keys key by key and a list ``items`` items at a time, so that the passages'
    columns are never one string (a 50 MB document's would be hundreds of MB, at four
    bytes a character when one holds an emoji)."""
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        yield b"{"
        for number, (key, item) in enumerate(value.items()):
            key_text = json.dumps(key, ensure_ascii=False)
            yield f"{', ' if number else ''}{key_text}: ".encode()
            yield from _json_pieces(item, items)
        yield b"}"
    elif isinstance(value, list) and len(value) > items:
        yield b"["
        for start in range(0, len(value), items):
            part = json.dumps(value[start:start + items], ensure_ascii=False)[1:-1]
            yield f"{', ' if start else ''}{part}".encode()
        yield b"]"
    else:
        yield json.dumps(value, ensure_ascii=False).encode()


def _passages(columns: object) -> tuple[Passage, ...]:
    """The passages back from :func:`_columns`, refused unless every field has one value
    per passage."""
    if not isinstance(columns, dict) or sorted(columns) != sorted(_FIELDS):
        raise IndexFormatError("index.json does not list the passages' fields")
    values = [columns[name] for name in _FIELDS]
    if not all(isinstance(v, list) and len(v) == len(values[0]) for v in values):
        raise IndexFormatError("index.json's passage fields differ in length")
    values[_FIELDS.index("parents")] = map(tuple, values[_FIELDS.index("parents")])
    return tuple(map(Passage, *values))


def _format_label(manifest: object) -> str:
    number = manifest.get("format") if isinstance(manifest, dict) else None
    return f"format {number}" if isinstance(number, int) else "no format number"


def _verified(directory: Path, name: str, expected: dict[str, Any]) -> bytes:
    """The bytes of ``name``, refused unless their sha256 is the manifest's."""
    data = (directory / name).read_bytes()
    if expected.get(name) != _sha256(data):
        raise IndexFormatError(f"{name} does not match the manifest (damaged, altered or "
                               "being written)")
    return data


_HEADER_LOCK = threading.Lock()


def _mapped(directory: Path, name: str, expected: dict[str, Any]) -> np.ndarray:
    """A saved array as a read-only memory map, refused unless the file's sha256 is the
    manifest's. The file is hashed and mapped through one open handle, so what is mapped
    is what was hashed even if the file is replaced meanwhile."""
    with open(directory / name, "rb") as handle:
        if expected.get(name) != hashlib.file_digest(handle, "sha256").hexdigest():
            raise IndexFormatError(f"{name} does not match the manifest (damaged, altered "
                                   "or being written)")
        handle.seek(0)
        major, minor = np.lib.format.read_magic(handle)
        # numpy parses the header with ast.literal_eval, which CPython 3.11 cannot run in
        # two threads at once: its AST state is shared ("AST constructor recursion depth
        # mismatch", seen in CI; cpython gh-106905).
        with _HEADER_LOCK:
            if (major, minor) == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            elif (major, minor) == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise IndexFormatError(f"{name} is not a .npy file this qabot reads")
        if dtype.hasobject or fortran:
            raise IndexFormatError(f"{name} holds objects or a Fortran-order array")
        if int(np.prod(shape)) == 0:
            return np.zeros(shape, dtype=dtype)
        array = np.memmap(handle, dtype=dtype, mode="r", shape=shape, offset=handle.tell())
        return array.view(np.ndarray)


def _encoder_label(info: Any) -> str:
    if not isinstance(info, dict):
        return "none"
    return f"{info.get('name')}, {info.get('dimensions')} dimensions"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_bytes(path: Path, data: bytes) -> str:
    return _write_atomically(path, lambda handle: handle.write(data))


def _write_atomically(path: Path, write: Callable[[Any], object]) -> str:
    """Write beside ``path`` with ``write(handle)``, flush it to disk, then rename it into
    place; the sha256 of what was written."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            handle.seek(0)
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return digest
