"""Postings kept as counts (qabot.retrieval.postings): the TF-IDF values a question reads
from them, and the sections' character counts made from the passages' and headings'."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import qabot.retrieval.lexical as lexical
from qabot.errors import IndexFormatError
from qabot.retrieval.postings import (
    CountColumns,
    count_norms,
    log_table,
    section_count_matrix,
    section_sums,
)


def _random_counts(rng: np.random.Generator, rows: int, columns: int,
                   largest: int) -> np.ndarray:
    dense = rng.integers(1, largest + 1, size=(rows, columns)) * (
        rng.random((rows, columns)) < 0.25)
    return dense.astype(np.float64)


def _norms(dense: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """The reference: each row's L2 norm of scikit-learn's sublinear TF-IDF (1 if empty)."""
    values = np.where(dense > 0, np.log(np.where(dense > 0, dense, 1)) + 1.0, 0.0) * idf
    norms = np.sqrt((values ** 2).sum(axis=1))
    norms[norms == 0] = 1.0
    return norms


def _tfidf(dense: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """The reference: scikit-learn's sublinear TF-IDF with L2 rows, on a dense array."""
    values = np.where(dense > 0, np.log(np.where(dense > 0, dense, 1)) + 1.0, 0.0) * idf
    return values / _norms(dense, idf)[:, None]


@pytest.mark.parametrize(("largest", "kind"), [(1, np.uint8), (255, np.uint8),
                                               (300, np.uint16), (70000, np.uint32)])
def test_counts_take_the_smallest_type_and_give_the_tfidf_values(
        largest: int, kind: type) -> None:
    rng = np.random.default_rng(largest)
    dense = _random_counts(rng, 30, 12, largest)
    dense[0, 0] = largest
    counts = sp.csc_matrix(dense)
    idf = rng.random(12) + 1.0
    columns = CountColumns.from_counts(counts).normed(idf)
    assert columns.counts.dtype == kind
    np.testing.assert_allclose(columns.to_csc(idf).toarray(), _tfidf(dense, idf),
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("seed", range(4))
def test_dot_through_count_postings_is_the_tfidf_product(seed: int) -> None:
    """Rows stored in any order within a column (as the character space stores them,
    grouped by section), any sparse question vector, empty columns included."""
    rng = np.random.default_rng(seed)
    dense = _random_counts(rng, 40, 30, 300)
    dense[:, 3] = 0
    counts = sp.csc_matrix(dense)
    for column in range(counts.shape[1]):
        start, end = counts.indptr[column], counts.indptr[column + 1]
        order = rng.permutation(end - start)
        counts.indices[start:end] = counts.indices[start:end][order]
        counts.data[start:end] = counts.data[start:end][order]
    idf = rng.random(30) + 1.0
    columns = CountColumns.from_counts(counts).normed(idf)
    features = np.array(sorted(rng.choice(30, size=8, replace=False)), dtype=np.intp)
    features = np.union1d(features, [3])
    weights = rng.random(len(features))
    vector = np.zeros(30)
    vector[features] = weights
    table = lexical._log_table_for(columns.counts)
    got = lexical._dot(columns, (features, weights), idf, table)
    np.testing.assert_allclose(got, _tfidf(dense, idf) @ vector, rtol=1e-12, atol=1e-15)
    none = lexical._dot(columns, (np.zeros(0, np.intp), np.zeros(0)), idf, table)
    assert none.tolist() == [0.0] * 40


def test_log_table_is_one_plus_ln() -> None:
    table = log_table(300)
    assert table[0] == 0.0 and table[1] == 1.0
    np.testing.assert_array_equal(table[1:], np.log(np.arange(1.0, 301.0)) + 1.0)


@pytest.fixture
def sections() -> dict[str, object]:
    """Passages in sections (numbered out of order, one repeated later) whose counts are
    their section's heading counts plus their own text's, as a passage's indexed text is."""
    rng = np.random.default_rng(7)
    section_of = np.array([0, 0, 1, 2, 2, 2, 0, 3, 1, 3])
    sections, columns = 4, 25
    headings = _random_counts(rng, sections, columns, 3)
    headings[:, 5] = 0
    headings[3] = 0  # a section whose headings hold no n-gram
    texts = _random_counts(rng, len(section_of), columns, 4)
    passages = sp.csc_matrix(headings[section_of] + texts)
    expected = headings + np.array([texts[section_of == s].sum(axis=0)
                                    for s in range(sections)])
    grouped = np.argsort(section_of, kind="stable")
    by_section = sp.csc_matrix(passages[grouped])  # numbered so that sections never decrease
    idf = rng.random(columns) + 1.0
    return {"section_of": section_of[grouped], "sizes": np.bincount(section_of),
            "passages": CountColumns.from_counts(by_section, np.ones(len(section_of))),
            "headings": CountColumns.from_counts(sp.csc_matrix(headings), np.ones(sections)),
            "expected": expected, "idf": idf}


def test_section_counts_are_the_passages_sums_less_the_repeated_headings(
        sections: dict) -> None:  # type: ignore[type-arg]
    features = np.array([0, 2, 5, 6, 11, 24])
    feature, section, sums = section_sums(sections["passages"].take(features),
                                          sections["headings"].take(features),
                                          sections["section_of"], sections["sizes"])
    got = np.zeros((4, len(features)))
    got[section, feature] = sums
    np.testing.assert_array_equal(got, sections["expected"][:, features])
    assert np.all(sums > 0)
    assert len(sums) == np.count_nonzero(sections["expected"][:, features])
    keys = feature * 4 + section
    assert np.all(np.diff(keys) > 0)  # feature after feature, sections ascending


@pytest.mark.parametrize("block", [1, 7, 1 << 21])
def test_the_section_count_matrix_is_made_from_the_passages_and_headings(
        sections: dict, block: int) -> None:  # type: ignore[type-arg]
    got = section_count_matrix(sections["passages"], sections["headings"],
                               sections["section_of"], sections["sizes"], block=block)
    expected = CountColumns.from_counts(sp.csc_matrix(sections["expected"]))
    for part in ("counts", "low", "splits", "norms"):
        np.testing.assert_array_equal(getattr(got, part), getattr(expected, part), part)
    assert got.shape == expected.shape and got.counts.dtype == expected.counts.dtype


@pytest.mark.parametrize("chunk", [5, 1 << 22])
def test_rows_past_65536_are_stored_in_blocks_and_read_back(chunk: int) -> None:
    """Rows are kept as their low 16 bits, the high part in where they sit: a matrix of
    200,000 rows reads back every posting's row, column by column, ascending."""
    rng = np.random.default_rng(3)
    rows, columns = 200_000, 9
    row = rng.integers(0, rows, size=400)
    column = rng.integers(0, columns, size=400)
    row[:3], column[:3] = [0, 65535, rows - 1], [2, 2, 2]  # block edges and the last row
    counts = sp.csc_matrix((np.ones(400), (row, column)), shape=(rows, columns))
    packed = CountColumns.from_counts(counts, np.ones(rows), chunk=chunk)
    assert packed.low.dtype == np.uint16 and packed.splits.shape == (columns, 5)
    taken = packed.take(np.arange(columns))
    np.testing.assert_array_equal(taken.rows, counts.indices)
    np.testing.assert_array_equal(taken.counts, counts.data)
    np.testing.assert_array_equal(taken.sizes, np.diff(counts.indptr))
    some = packed.take(np.array([2, 7]))
    expected = np.concatenate([counts.indices[counts.indptr[c]:counts.indptr[c + 1]]
                               for c in (2, 7)])
    np.testing.assert_array_equal(some.rows, expected)
    held = set(zip(column.tolist(), row.tolist(), strict=True))
    probes = [*held, (2, 1), (2, 65534), (2, 65536), (2, rows - 2), (0, rows), (8, 131072)]
    assert [packed.holds(c, r) for c, r in probes] == [(c, r) in held for c, r in probes]
    saved = CountColumns.from_saved(packed.arrays("m"), "m", rows, columns)
    np.testing.assert_array_equal(saved.take(np.arange(columns)).rows, counts.indices)


@pytest.mark.parametrize("rows", [50, 140_000])
def test_take_reads_the_columns_asked_for_empty_ones_too(rows: int) -> None:
    """``take`` of any ascending set of columns (none, empty ones, every one; one block of
    rows or three) gives each column's rows, ascending, and counts, column after column,
    as the CSC matrix holds them; a question's empty columns add nothing."""
    rng = np.random.default_rng(rows)
    columns = 12
    row = rng.integers(0, rows, size=300)
    column = rng.choice([0, 1, 3, 4, 7, 8, 11], size=300)  # 2, 5, 6, 9, 10 left empty
    counts = sp.csc_matrix((rng.integers(1, 400, size=300).astype(np.float64), (row, column)),
                           shape=(rows, columns))
    counts.sum_duplicates()
    packed = CountColumns.from_counts(counts, np.ones(rows))
    for features in ([], [2], [5, 6], [0], [2, 3, 9, 11], list(range(columns)),
                     sorted(rng.choice(columns, size=6, replace=False).tolist())):
        taken = packed.take(np.array(features, dtype=np.intp))
        pieces = [slice(counts.indptr[c], counts.indptr[c + 1]) for c in features]
        expected_rows = np.concatenate([counts.indices[p] for p in pieces] or [[]])
        expected_counts = np.concatenate([counts.data[p] for p in pieces] or [[]])
        np.testing.assert_array_equal(taken.rows, expected_rows)
        np.testing.assert_array_equal(taken.counts, expected_counts)
        assert taken.sizes.tolist() == [p.stop - p.start for p in pieces]


def test_a_saved_row_past_the_last_text_is_refused() -> None:
    counts = sp.csc_matrix((np.ones(3), ([0, 5, 70000], [0, 1, 1])), shape=(70001, 2))
    arrays = CountColumns.from_counts(counts, np.ones(70001)).arrays("m")
    arrays["m_low"] = arrays["m_low"].copy()
    arrays["m_low"][-1] = 65535  # row 131071 of 70001
    with pytest.raises(IndexFormatError, match="out of range"):
        CountColumns.from_saved(arrays, "m", 70001, 2)


def test_a_matrix_packed_from_column_blocks_is_the_matrix_packed_whole() -> None:
    """The build packs the character counts a block of columns at a time; the parts, their
    block offsets and the norms must be those of the whole matrix packed at once."""
    rng = np.random.default_rng(11)
    rows, columns = 70_000, 12
    row, column = rng.integers(0, rows, size=300), rng.integers(0, columns, size=300)
    whole = sp.csc_matrix((rng.integers(1, 300, size=300).astype(np.float64),
                           (row, column)), shape=(rows, columns))
    whole.sum_duplicates()
    as_rows = sp.csr_matrix(whole.T).astype(np.int32)
    blocks = [as_rows[a:b] for a, b in ((0, 5), (5, 5), (5, 12))]
    packed = CountColumns.from_column_blocks(iter(blocks), rows)
    expected = CountColumns.from_counts(whole, np.ones(rows))
    for part in ("counts", "low", "splits"):
        np.testing.assert_array_equal(getattr(packed, part), getattr(expected, part), part)
    idf = rng.random(columns) + 1.0
    np.testing.assert_allclose(count_norms(packed, idf, chunk=50),
                               _norms(whole.toarray(), idf), rtol=1e-15)


@pytest.mark.parametrize("capacity", [0, 5, 40, 10_000])
def test_packing_widens_the_counts_and_grows_the_arrays_as_blocks_need(capacity: int) -> None:
    """Blocks are written into arrays made ``capacity`` postings long (grown when a block
    does not fit, cut at the end), counts widened from one byte when a later block holds a
    larger count: the result is the whole matrix packed at once."""
    rows = 70_000
    dense = np.zeros((rows, 6))
    dense[[0, 5, 65535, 65536, 69999], 0] = [1, 2, 255, 3, 4]
    dense[[7, 70, 66000], 2] = [300, 1, 2]  # needs two bytes
    dense[[1, 69998], 4] = [70_000, 9]  # needs four
    whole = sp.csc_matrix(dense)
    as_rows = sp.csr_matrix(whole.T).astype(np.int32)
    packed = CountColumns.from_column_blocks(
        (as_rows[a:b] for a, b in ((0, 2), (2, 3), (3, 3), (3, 6))), rows, capacity=capacity)
    expected = CountColumns.from_counts(whole)
    assert packed.counts.dtype == np.uint32 and packed.shape == expected.shape
    for part in ("counts", "low", "splits", "norms"):
        np.testing.assert_array_equal(getattr(packed, part), getattr(expected, part), part)
