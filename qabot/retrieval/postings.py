"""TF-IDF postings kept as raw counts, weighted while a question reads them.

A TF-IDF matrix entry is ``(1 + ln count) * idf / norm``: the count of a term in a text,
the term's idf and the text's L2 norm. Storing that float (8 bytes) plus its row (4) for
every posting made the character space most of an index's size and of a build's memory.
:class:`CountColumns` stores the count instead (one or two bytes: the smallest unsigned
type that holds the largest count) and one norm per row. A question reads its features'
counts and sums ``(1 + ln count) * idf * weight`` per row, then divides each row's sum by
its norm: the full product's numbers up to rounding (about 1e-16 of a score), at the cost
of a table lookup per posting. :meth:`CountColumns.to_csc` makes the whole matrix with the
build's own operations, for references and tests.

The sections' character counts are not computed from the sections' texts (the biggest
product of the build). ``char_wb`` n-grams never cross whitespace, so a section's n-gram
counts are those of its headings plus each of its passages' texts, and a passage's are
those of the same headings plus its own text: a section's count of a term is the sum of
its passages' counts less ``(passages - 1)`` times its headings' count
(:func:`section_count_matrix`, from the passages' postings grouped by section).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import IndexFormatError

__all__ = ["CountColumns", "Taken", "count_norms", "log_table", "section_count_matrix",
           "section_sums"]

#: The saved parts of a :class:`CountColumns`, as ``{name}_{part}.npy``.
PARTS = ("counts", "low", "splits", "norms", "shape")
#: Rows per block: a row is stored as its low ``BLOCK_BITS`` bits.
BLOCK_BITS = 16
BLOCK = 1 << BLOCK_BITS


def log_table(largest: int) -> np.ndarray:
    """``1 + ln(count)`` for every count up to ``largest``, computed as the build computes
    it (``np.log`` of float64 counts, then ``+ 1``), so a lookup gives its very bits."""
    table = np.log(np.arange(max(largest, 1) + 1, dtype=np.float64)[1:])
    table += 1.0
    return np.concatenate([[0.0], table])


@dataclass(frozen=True)
class Taken:
    """Some columns' postings, column after column: rows, counts and each column's size."""

    rows: np.ndarray
    counts: np.ndarray
    sizes: np.ndarray


def count_norms(columns: CountColumns, idf: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Each row's L2 norm of ``(1 + ln count) * idf`` over a packed count matrix, its
    squares summed in ascending feature order as scikit-learn sums them; 1.0 for an empty
    row (nothing to divide). Done about ``chunk`` postings at a time."""
    rows = columns.shape[0]
    squares = np.zeros(rows)
    ends = columns.splits[:, -1]
    edges = np.searchsorted(ends, np.arange(chunk, columns.nnz, chunk))
    for first, last in itertools.pairwise(sorted({0, columns.shape[1], *edges.tolist()})):
        taken = columns.take_range(first, last)
        part = np.log(taken.counts.astype(np.float64))
        part += 1.0
        part *= np.repeat(idf[first:last], taken.sizes)
        squares += np.bincount(taken.rows, weights=part * part, minlength=rows)
    norms = np.sqrt(squares)
    norms[norms == 0.0] = 1.0
    return norms


@dataclass(frozen=True)
class CountColumns:
    """A texts × terms count matrix held column by column (each term's postings: its rows,
    ascending, and counts), with each row's TF-IDF norm. May be read-only memory maps of a
    saved index.

    A row number is stored as its low 16 bits (``low``); the high part is implied by where
    the posting sits: ``splits[c, h]:splits[c, h + 1]`` are column ``c``'s postings of rows
    ``h * 65536`` to ``(h + 1) * 65536 - 1``. Rows cost 2 bytes a posting instead of 4,
    and an index of up to 65,536 texts has one block, whose rows are just ``low``.
    """

    counts: np.ndarray
    low: np.ndarray
    splits: np.ndarray
    norms: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def from_counts(cls, counts: sp.csc_matrix, norms: np.ndarray | None = None,
                    chunk: int = 1 << 22) -> CountColumns:
        """Pack a CSC count matrix (float or integer counts) with its rows' norms (1 when
        not given: see :meth:`normed`), about ``chunk`` postings at a time."""
        if not counts.has_sorted_indices:  # scipy sorts no data narrower than 32 bits
            counts = sp.csc_matrix((counts.data.astype(np.int32), counts.indices,
                                    counts.indptr), shape=counts.shape)
            counts.sort_indices()
        rows, columns = (int(n) for n in counts.shape)
        # The same arrays read as a CSR matrix are the columns as rows.
        as_rows = sp.csr_matrix((counts.data, counts.indices, counts.indptr),
                                shape=(columns, rows))
        edges = np.searchsorted(counts.indptr, np.arange(chunk, counts.nnz, chunk))
        bounds = sorted({0, columns, *edges.tolist()})
        packed = cls.from_column_blocks(
            (as_rows[first:last] for first, last in itertools.pairwise(bounds)), rows,
            capacity=counts.nnz)
        if norms is None:
            return packed
        return dataclasses.replace(packed, norms=np.asarray(norms, dtype=np.float64))

    @classmethod
    def from_column_blocks(cls, blocks: Iterable[sp.csr_matrix], rows: int,
                           capacity: int = 0) -> CountColumns:
        """Pack a ``rows``-row count matrix given as consecutive blocks of its columns,
        each a CSR matrix whose rows are the columns (rows ascending within each), integer
        counts, as many columns as the blocks hold; the norms are left at 1 (see
        :func:`count_norms`).

        Each block is written into the packed arrays as it comes, so only one block is
        ever held at full width and the postings are never held twice (as a list of parts
        and their concatenation). The arrays are made ``capacity`` postings long (an upper
        bound, when known: pages never written are never resident), grown when a block
        does not fit and cut to the postings' count at the end, both in place where the
        allocator can (``ndarray.resize``: ``realloc``). The counts' type widens, from one
        byte, when a block holds a larger count."""
        row_blocks = _blocks(rows)
        counts = np.empty(capacity, dtype=np.uint8)
        low = np.empty(capacity, dtype=np.uint16)
        splits = [np.zeros((0, row_blocks + 1), dtype=np.int64)]
        filled = 0
        for part in blocks:
            size, width = part.nnz, part.shape[0]
            end = filled + size
            if end > len(counts):
                grown = max(end, 2 * len(counts))
                counts.resize(grown, refcheck=False)
                low.resize(grown, refcheck=False)
            kind = np.min_scalar_type(int(part.data.max(initial=0)))
            if np.can_cast(counts.dtype, kind) and kind != counts.dtype:
                wider = np.empty(len(counts), dtype=kind)
                wider[:filled] = counts[:filled]
                counts = wider
            np.copyto(counts[filled:end], part.data, casting="unsafe")
            np.bitwise_and(part.indices, BLOCK - 1, out=low[filled:end], casting="unsafe")
            if row_blocks == 1:
                per_block = np.diff(part.indptr)
            else:
                at = np.repeat(np.arange(width, dtype=np.int64) * row_blocks,
                               np.diff(part.indptr))
                at += part.indices >> BLOCK_BITS
                per_block = np.bincount(at, minlength=width * row_blocks)
                del at
            ends = np.cumsum(per_block)
            ends += filled
            split = np.empty((width, row_blocks + 1), dtype=np.int64)
            split[:, :-1] = (ends - per_block).reshape(width, row_blocks)
            split[:, -1] = ends[row_blocks - 1::row_blocks]
            splits.append(split)
            filled = end
        counts.resize(filled, refcheck=False)
        low.resize(filled, refcheck=False)
        joined = np.concatenate(splits)
        return cls(counts, low, joined, np.ones(rows), (rows, len(joined)))

    def normed(self, idf: np.ndarray) -> CountColumns:
        """This matrix with its rows' TF-IDF norms under ``idf`` (:func:`count_norms`)."""
        return dataclasses.replace(self, norms=count_norms(self, idf))

    @property
    def nnz(self) -> int:
        return len(self.counts)

    @property
    def column_sizes(self) -> np.ndarray:
        """How many postings each column has (a term's document frequency)."""
        return self.splits[:, -1] - self.splits[:, 0]

    def take(self, features: np.ndarray) -> Taken:
        """Every posting of ``features`` (ascending column numbers), feature after feature.

        A column's postings are stored one after the other whatever their blocks, so each
        feature's are one run of positions, read with ``ndarray.take`` (faster than ``[]``
        indexing: a question's character dot product at 1k passages, 87 -> 60 µs)."""
        splits = self.splits.take(features, axis=0)
        sizes = splits[:, -1] - splits[:, 0]
        ends = np.cumsum(sizes)
        positions = np.repeat(splits[:, 0] - ends + sizes, sizes)
        positions += np.arange(int(ends[-1]) if len(ends) else 0)
        return Taken(_rows(self.low.take(positions), splits), self.counts.take(positions),
                     sizes)

    def take_range(self, first: int, last: int) -> Taken:
        """Every posting of columns ``first`` to ``last - 1``: :meth:`take` of a range,
        read as slices (the range's postings are stored one after the other)."""
        splits = self.splits[first:last]
        start, end = (int(splits[0, 0]), int(splits[-1, -1])) if len(splits) else (0, 0)
        return Taken(_rows(self.low[start:end], splits), self.counts[start:end],
                     self.column_sizes[first:last])

    def holds(self, column: int, row: int) -> bool:
        """Whether ``row`` is among ``column``'s postings: a binary search of the one block
        that would hold it."""
        high, low = divmod(row, BLOCK)
        if not 0 <= high < self.splits.shape[1] - 1:
            return False
        start, end = self.splits[column, high:high + 2].tolist()
        rows = self.low[start:end]
        at = int(rows.searchsorted(low))  # the method: np.searchsorted's wrapper costs more
        return at < len(rows) and int(rows[at]) == low

    def to_csc(self, idf: np.ndarray) -> sp.csc_matrix:
        """The whole TF-IDF matrix, made with the build's own operations
        (``(1 + ln count) * idf / norm``): for references and tests, never to answer."""
        taken = self.take(np.arange(self.shape[1]))
        values = np.log(taken.counts.astype(np.float64))
        values += 1.0
        values *= np.repeat(idf, taken.sizes)
        values /= self.norms[taken.rows]
        indptr = np.zeros(self.shape[1] + 1, dtype=np.int64)
        np.cumsum(taken.sizes, out=indptr[1:])
        return sp.csc_matrix((values, taken.rows, indptr), shape=self.shape)

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}_counts": self.counts, f"{name}_low": self.low,
                f"{name}_splits": self.splits, f"{name}_norms": self.norms,
                f"{name}_shape": np.array(self.shape, dtype=np.int64)}

    @classmethod
    def from_saved(cls, arrays: Mapping[str, np.ndarray], name: str, rows: int,
                   columns: int) -> CountColumns:
        """The matrix ``name`` from saved parts, refused unless every part is consistent."""
        try:
            counts, low, splits, norms = (np.asarray(arrays[f"{name}_{part}"])
                                          for part in PARTS[:4])
            shape = tuple(int(x) for x in np.asarray(arrays[f"{name}_shape"]).tolist())
        except (KeyError, TypeError, ValueError):
            raise IndexFormatError(f"{name} matrix is missing or malformed") from None
        if shape != (rows, columns):
            raise IndexFormatError(f"{name} matrix is {shape}, expected {(rows, columns)}")
        if (counts.dtype.kind != "u" or low.dtype != np.uint16
                or splits.dtype != np.int64 or norms.dtype != np.float64):
            raise IndexFormatError(f"{name} matrix has the wrong array types")
        nnz, blocks = len(counts), _blocks(rows)
        if (counts.ndim != 1 or low.shape != (nnz,) or splits.shape != (columns, blocks + 1)
                or not columns or splits[0, 0] != 0 or splits[-1, -1] != nnz
                or np.any(np.diff(splits, axis=1) < 0)
                or not np.array_equal(splits[1:, 0], splits[:-1, -1])):
            raise IndexFormatError(f"{name} matrix has an inconsistent column structure")
        if nnz and _largest_in_last_block(low, splits) >= rows - (blocks - 1) * BLOCK:
            raise IndexFormatError(f"{name} matrix has a row or count out of range")
        if nnz and counts.min() == 0:
            raise IndexFormatError(f"{name} matrix has a row or count out of range")
        if norms.shape != (rows,) or not np.all(np.isfinite(norms)) or np.any(norms <= 0):
            raise IndexFormatError(f"{name} matrix's norms do not match its rows")
        return cls(counts, low, splits, norms, (rows, columns))


def _rows(low: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """The rows of postings read block after block of the columns whose ``splits`` are
    given: each low part with its block's high part put back."""
    rows = low.astype(np.int32)
    blocks = splits.shape[1] - 1
    if blocks > 1:
        rows |= np.repeat(np.tile(np.arange(blocks, dtype=np.int32) << BLOCK_BITS,
                                  len(splits)), np.diff(splits, axis=1).ravel())
    return rows


def _largest_in_last_block(low: np.ndarray, splits: np.ndarray) -> int:
    """The largest ``low`` among the postings of every column's last block (-1 if none)."""
    starts, ends = splits[:, -2], splits[:, -1]
    held = ends > starts
    if not held.any():
        return -1
    bounds = np.column_stack([starts[held], ends[held]]).ravel()
    if bounds[-1] == len(low):  # reduceat reduces the last range to the end by itself
        bounds = bounds[:-1]
    return int(np.maximum.reduceat(low, bounds)[::2].max())


def _blocks(rows: int) -> int:
    """How many blocks of :data:`BLOCK` rows ``rows`` rows make (one at least)."""
    return max(1, -(-rows // BLOCK))


def section_sums(passages: Taken, headings: Taken, section_of: np.ndarray, sizes: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sections' counts of some features, from the passages' postings of them and the
    sections' headings' postings of the same features. The passages must be numbered so
    that their sections (``section_of``) never decrease: a feature's postings then come
    grouped by section.

    Returns, one entry per (feature, section) with a nonzero count, feature after feature
    and sections ascending within a feature: the feature's index among those read, the
    section, and its count (float64, exact).
    """
    if not len(passages.rows):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    section = section_of[passages.rows]
    new_feature = np.zeros(len(section), dtype=bool)
    held = np.flatnonzero(passages.sizes)  # the features with postings
    new_feature[(np.cumsum(passages.sizes) - passages.sizes)[held]] = True
    starts = new_feature.copy()
    starts[1:] |= section[1:] != section[:-1]
    starts = np.flatnonzero(starts)
    sums = np.add.reduceat(passages.counts, starts, dtype=np.float64)
    feature = held[np.cumsum(new_feature[starts]) - 1]
    section = section[starts]
    if len(headings.rows):
        sections = np.int64(len(sizes))
        keys = feature * sections + section
        heading_keys = (np.repeat(np.arange(len(headings.sizes), dtype=np.int64),
                                  headings.sizes) * sections + headings.rows)
        at = np.searchsorted(keys, heading_keys)
        if (np.any(at >= len(keys))
                or np.any(keys[np.minimum(at, len(keys) - 1)] != heading_keys)):
            raise IndexFormatError("the sections' heading counts do not match their passages")
        sums[at] -= (sizes[headings.rows] - 1) * headings.counts.astype(np.float64)
    return feature, section, sums


def section_count_matrix(passages: CountColumns, headings: CountColumns, section_of: np.ndarray,
                         sizes: np.ndarray, block: int = 1 << 21) -> CountColumns:
    """The sections × terms count matrix, packed (norms left at 1), made from the passages'
    counts (numbered so that ``section_of`` never decreases) and the headings' by
    :func:`section_sums`, ``block`` passage postings at a time: never from the sections'
    texts. Each block is packed as it comes (:meth:`CountColumns.from_column_blocks`); a
    section holds a term only where one of its passages does, so the passages' postings
    are as many as the sections' at least."""
    columns = passages.shape[1]
    edges = np.searchsorted(passages.splits[:, -1], np.arange(block, passages.nnz, block))

    def blocks() -> Iterator[sp.csr_matrix]:
        for start, end in itertools.pairwise(sorted({0, columns, *edges.tolist()})):
            feature, section, sums = section_sums(passages.take_range(start, end),
                                                  headings.take_range(start, end), section_of,
                                                  sizes)
            indptr = np.zeros(end - start + 1, dtype=np.int64)
            np.cumsum(np.bincount(feature, minlength=end - start), out=indptr[1:])
            yield sp.csr_matrix((sums, section.astype(np.int32), indptr),
                                shape=(end - start, headings.shape[0]))

    return CountColumns.from_column_blocks(blocks(), headings.shape[0], capacity=passages.nnz)
