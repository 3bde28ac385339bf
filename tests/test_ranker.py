"""The ranker (qabot.retrieval.ranker): fused scores, and a saved index that is stamped with
its encoder, written atomically and verified before use."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from qabot import QABot
from qabot.documents import corpus_hash, load_corpus
from qabot.errors import IndexFormatError
from qabot.passages import Passage
from qabot.retrieval import Ranker, load_encoder
from qabot.retrieval.lexical import indexed_text
from qabot.retrieval.ranker import (
    CITATION_WEIGHT,
    EMBED_BATCH,
    INDEX_FORMAT,
    _json_pieces,
    embed_passages,
    top_positions,
)
from qabot.retrieval.semantic import EncoderInfo

VERSION = "9.9.9-test"
HASH = "0" * 64


def _at(text: str, section: str, start: int) -> Passage:
    return Passage(text, section, "guild.txt", start, start + len(text))


PASSAGES = (
    _at("Apprentices receive no wages during their first year.", "Pay", 0),
    _at("The guild hall stands in Lisbon, Portugal.", "Location", 60),
    _at("Members meet every Tuesday evening in the great hall.", "Meetings", 120),
    _at("Smith, J. (1998). A History of Guilds. Lisbon Press.", "References", 180),
)


@pytest.fixture(scope="module")
def static():  # type: ignore[no-untyped-def]
    return load_encoder("static")


@pytest.fixture(scope="module")
def ranker(static) -> Ranker:  # type: ignore[no-untyped-def]
    return Ranker.build(PASSAGES, static)


def test_without_an_encoder_the_score_is_lexical_times_the_prior() -> None:
    lexical_only = Ranker.build(PASSAGES)
    question = "Where is the guild hall in Lisbon?"
    expected = lexical_only.lexical.scores(question) * np.array([1, 1, 1, CITATION_WEIGHT])
    assert np.allclose(lexical_only.scores(question), expected)
    assert lexical_only.encoder_name == "none" and lexical_only.embeddings is None


def test_fused_score_blends_both_signals(ranker: Ranker) -> None:
    question = "Do apprentices get a salary?"
    lexical = ranker.lexical.scores(question)
    semantic = ranker.semantic_scores(question)
    w = ranker.semantic_weight
    prior = np.array([1, 1, 1, CITATION_WEIGHT])
    assert np.allclose(ranker.scores(question), ((1 - w) * lexical + w * np.maximum(
        semantic, 0)) * prior)


@pytest.mark.parametrize("encoder", ["none", "static"])
@pytest.mark.parametrize("passages", [PASSAGES, PASSAGES[:3]], ids=["citation", "no-citation"])
def test_the_fused_score_is_the_formula_to_the_last_bit(
        encoder: str, passages: tuple[Passage, ...]) -> None:
    # Ranker.score spares products by 1.0 and reuses its own arrays: the same numbers.
    ranker = Ranker.build(passages, load_encoder(encoder))
    question = "Where do apprentices meet in Lisbon?"
    lexical = ranker.lexical.scores(question)
    prior = np.array([CITATION_WEIGHT if "(1998)" in p.text else 1.0 for p in passages])
    semantic = ranker.semantic_scores(question)
    if semantic is None:
        expected = lexical * prior
    else:
        w = ranker.semantic_weight
        expected = ((1 - w) * lexical + w * np.maximum(semantic, 0.0)) * prior
    assert ranker.scores(question).tobytes() == expected.tobytes()


@pytest.mark.parametrize("encoder", ["none", "static"])
def test_a_score_array_is_the_callers_own(encoder: str) -> None:
    # Scores may be the lexical signal's own array (no prior to apply): changing what one
    # question got must not change what the next one gets.
    ranker = Ranker.build(PASSAGES[:3], load_encoder(encoder))
    question = "Where is the guild hall?"
    first = ranker.score(question)
    expected = first.fused.copy()
    first.fused[:] = -1.0
    assert ranker.score(question).fused.tobytes() == expected.tobytes()


def test_top_orders_by_score_then_position() -> None:
    ranker = Ranker.build(PASSAGES)
    scores = np.array([0.5, 0.9, 0.5, 0.1])
    hits = ranker.top(scores, 3)
    assert [(h.position, h.score) for h in hits] == [(1, 0.9), (0, 0.5), (2, 0.5)]
    assert all(type(h.score) is float for h in hits)
    assert [h.position for h in ranker.top(scores, 10)] == [1, 0, 2, 3]
    assert ranker.top(scores, 0) == []


def _made_up_scores(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "distinct":
        return rng.random(n)
    if kind == "few values":
        return rng.integers(0, 4, n).astype(np.float64)
    if kind == "rounded":
        return np.round(rng.random(n), 2)
    return np.where(rng.random(n) < 0.95, 0.0, rng.random(n))


@pytest.mark.parametrize("kind", ["distinct", "few values", "rounded", "mostly zero"])
def test_top_positions_are_the_set_argpartition_picks(kind: str) -> None:
    # The sampled search must pick the very passages argpartition picks, ties included
    # (which of several tied passages is shown depends on it).
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 5000))
        k = int(rng.integers(1, min(n, 200) + 1))
        scores = _made_up_scores(rng, kind, n)
        expected = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        assert sorted(top_positions(scores, k).tolist()) == sorted(expected.tolist())


def test_the_semantic_signal_finds_a_paraphrase_tfidf_misses(ranker: Ranker) -> None:
    question = "Do newcomers earn money?"  # no content word in common with the Pay passage
    assert int(np.argmax(ranker.lexical.scores(question))) != 0
    assert ranker.search(question, 1)[0].passage.section == "Pay"


# --- save / load -----------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path: Path, ranker: Ranker) -> Path:
    directory = tmp_path / "idx"
    ranker.save(directory, version=VERSION, corpus_hash=HASH)
    return directory


def _load(directory: Path, encoder) -> Ranker:  # type: ignore[no-untyped-def]
    return Ranker.load(directory, version=VERSION, corpus_hash=HASH, encoder=encoder)


def test_round_trip_keeps_the_embeddings_and_scores(saved: Path, ranker: Ranker,
                                                    static) -> None:  # type: ignore[no-untyped-def]
    loaded = _load(saved, static)
    assert loaded.passages == ranker.passages
    assert np.array_equal(loaded.embeddings, ranker.embeddings)
    for question in ["Are trainees paid?", "lisbon", "When do members meet?"]:
        assert np.allclose(loaded.scores(question), ranker.scores(question))


def test_the_index_records_its_encoder(saved: Path, static) -> None:  # type: ignore[no-untyped-def]
    meta = json.loads((saved / "index.json").read_text("utf-8"))
    assert meta["encoder"] == {"name": "static", "artifact_sha256": static.info.artifact_sha256,
                               "dimensions": 256}


def test_an_index_of_another_encoder_is_refused(saved: Path) -> None:
    with pytest.raises(IndexFormatError, match=r"another encoder \(static, 256 dimensions, "
                                               r"expected none\)"):
        _load(saved, None)


def test_writes_leave_no_temporary_files(saved: Path, ranker: Ranker) -> None:
    ranker.save(saved, version=VERSION, corpus_hash=HASH)
    names = sorted(p.name for p in saved.iterdir())
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]
    assert "manifest.json" in names and "embeddings.npy" in names


def _arrays(directory: Path) -> dict[str, np.ndarray]:
    return {path.stem: np.load(path, allow_pickle=False) for path in directory.glob("*.npy")}


def _rewrite(directory: Path, *, arrays: dict[str, np.ndarray] | None = None,
             meta: dict | None = None) -> None:
    """Replace the index's files and, as a careful forger would, its manifest too: what is
    left to catch the damage is the check of the arrays themselves."""
    for name, array in (arrays or {}).items():
        np.save(directory / f"{name}.npy", array)
    if meta is not None:
        (directory / "index.json").write_text(json.dumps(meta), "utf-8")
    manifest = {"format": INDEX_FORMAT, "sha256": {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in directory.iterdir() if path.name != "manifest.json"}}
    (directory / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def _edit_array(name: str, change):  # type: ignore[no-untyped-def]
    def corrupt(directory: Path) -> None:
        arrays = _arrays(directory)
        arrays[name] = change(arrays[name].copy())
        _rewrite(directory, arrays=arrays)
    return corrupt


def _set(values, index, value):  # type: ignore[no-untyped-def]
    values[index] = value
    return values


FORGED = [
    pytest.param(_edit_array("word_low", lambda a: _set(a, 0, 65535)), "out of range",
                 id="column-index-out-of-range"),
    pytest.param(_edit_array("word_shape", lambda a: _set(a, 1, 10**12)), "word matrix is",
                 id="huge-shape"),
    pytest.param(_edit_array("word_norms", lambda a: _set(a, 0, np.nan)), "norms",
                 id="nan-norm"),
    pytest.param(_edit_array("char_counts", lambda a: _set(a, 0, 0)), "out of range",
                 id="zero-count"),
    pytest.param(_edit_array("char_order", lambda a: _set(a, 0, a[-1])), "row order",
                 id="char-rows-not-a-permutation"),
    pytest.param(_edit_array("char_splits", lambda a: a[::-1].copy()), "structure",
                 id="indptr-reversed"),
    pytest.param(_edit_array("embeddings", lambda a: a[:, :10].copy()), "embeddings",
                 id="embeddings-of-another-dimension"),
    pytest.param(_edit_array("embeddings", lambda a: _set(a, (0, 0), np.inf)), "embeddings",
                 id="embeddings-not-finite"),
    pytest.param(_edit_array("word_idf", lambda a: a[:-1].copy()), "idf",
                 id="idf-shorter-than-vocabulary"),
]


@pytest.mark.parametrize(("corrupt", "problem"), FORGED)
def test_forged_arrays_are_refused_even_with_a_matching_manifest(
        saved: Path, static, corrupt, problem: str) -> None:  # type: ignore[no-untyped-def]
    corrupt(saved)
    with pytest.raises(IndexFormatError, match=problem):
        _load(saved, static)


def _edit_text(directory: Path) -> None:
    meta = json.loads((directory / "index.json").read_text("utf-8"))
    meta["passages"]["text"][1] = "The guild hall stands in Atlantis."
    (directory / "index.json").write_text(json.dumps(meta), "utf-8")


def _truncate(name: str):  # type: ignore[no-untyped-def]
    return lambda d: (d / name).write_bytes(b"")


@pytest.mark.parametrize("corrupt", [
    pytest.param(_edit_text, id="passage-text-edited-stamps-kept"),
    pytest.param(_truncate("char_counts.npy"), id="npz-truncated-to-zero"),
    pytest.param(_truncate("manifest.json"), id="manifest-truncated"),
    pytest.param(lambda d: (d / "manifest.json").unlink(), id="manifest-missing"),
])
def test_files_that_do_not_match_the_manifest_are_refused(
        saved: Path, static, corrupt) -> None:  # type: ignore[no-untyped-def]
    corrupt(saved)
    with pytest.raises(IndexFormatError, match=str(saved)):
        _load(saved, static)


def test_a_bot_rebuilds_instead_of_serving_an_edited_index(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "guild.txt").write_text(
        "Guild Facts\n\nLocation\n\nThe guild hall stands in Lisbon, Portugal.\n", "utf-8")
    QABot.from_path(corpus, index_dir=tmp_path / "idx")
    meta = json.loads((tmp_path / "idx" / "index.json").read_text("utf-8"))
    meta["passages"]["text"][-1] = "The guild hall stands in Atlantis."
    (tmp_path / "idx" / "index.json").write_text(json.dumps(meta), "utf-8")
    answer = QABot.from_path(corpus, index_dir=tmp_path / "idx").ask("Where is the guild hall?")
    assert answer.found and "Lisbon" in answer.answer and "Atlantis" not in answer.answer


def test_readers_never_see_a_mix_of_two_indexes(tmp_path: Path, static) -> None:  # type: ignore[no-untyped-def]
    """One thread saves two different corpora in turn into one folder while another loads
    it: every load gives one whole index or a refusal, never a mix or another error."""
    folder = tmp_path / "idx"
    texts = ["The guild hall stands in Lisbon, Portugal.",
             "The harbour office opens at nine. Boats leave at noon. Fees are paid monthly."]
    indexes = []
    for number, text in enumerate(texts):
        docs = load_corpus(_corpus(tmp_path / f"c{number}", text))
        bot = QABot.from_documents(docs, encoder="none")
        indexes.append((bot.index, corpus_hash(docs)))
    indexes[0][0].save(folder, version=VERSION, corpus_hash=indexes[0][1])
    stop = threading.Event()

    def writer() -> None:
        turn = 0
        while not stop.is_set():
            index, digest = indexes[turn % 2]
            index.save(folder, version=VERSION, corpus_hash=digest)
            turn += 1

    thread = threading.Thread(target=writer)
    thread.start()
    outcomes = {"loaded": 0, "refused": 0}
    try:
        for _ in range(300):
            for index, digest in indexes:
                try:
                    loaded = Ranker.load(folder, version=VERSION, corpus_hash=digest, encoder=None)
                except IndexFormatError:
                    outcomes["refused"] += 1
                    continue
                assert loaded.passages == index.passages
                outcomes["loaded"] += 1
    finally:
        stop.set()
        thread.join()
    assert outcomes["loaded"] > 0


def _corpus(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "doc.txt").write_text(f"Notes\n\nFacts\n\n{text}\n", "utf-8")
    return folder


def test_a_read_only_index_folder_serves_a_fresh_build_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    corpus = _corpus(tmp_path / "corpus", "The guild hall stands in Lisbon, Portugal.")
    folder = tmp_path / "idx"
    QABot.from_path(corpus, index_dir=folder, encoder="none")
    meta = json.loads((folder / "index.json").read_text("utf-8"))
    meta["passages"]["text"][-1] = "The guild hall stands in Atlantis."
    (folder / "index.json").write_text(json.dumps(meta), "utf-8")  # damaged, not rewritable
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    import qabot.answer as answer_mod

    monkeypatch.setattr(answer_mod.os, "access", lambda path, mode: False)
    with caplog.at_level("WARNING", logger="qabot.answer"):
        bot = QABot.from_path(corpus, index_dir=folder, encoder="none")
    assert "Lisbon" in bot.ask("Where does the guild hall stand?").answer
    assert any("read-only" in r.getMessage() for r in caplog.records)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize(("edit", "problem"), [
    pytest.param(lambda c: c.pop("context"), "fields", id="a-field-missing"),
    pytest.param(lambda c: c["start"].pop(), "length", id="fields-of-different-lengths"),
])
def test_forged_passage_columns_are_refused(
        saved: Path, static, edit, problem: str) -> None:  # type: ignore[no-untyped-def]
    meta = json.loads((saved / "index.json").read_text("utf-8"))
    edit(meta["passages"])
    _rewrite(saved, meta=meta)
    with pytest.raises(IndexFormatError, match=problem):
        _load(saved, static)


@pytest.mark.parametrize("items", [1, 2, 3, 4096])
@pytest.mark.parametrize("value", [
    {"format": 5, "encoder": None, "arrays": ["a", "b"], "passages": {
        "text": ["Café", "😀 emoji", "", 'a "quoted"\nline', "\\", "x"],
        "start": [0, 10, 20, 30, 40, 50], "parents": [[], ["A", "B"], ["é"], [], [], ["Z"]]}},
    {}, [], [1.5, 2.0, None, True, "ü"], {"nested": {"deeper": {"k": [[1], [2, 3]]}}},
    {1: "an int key", "s": [1, 2, 3]}, "a plain string", 3.25,
], ids=["index", "empty-dict", "empty-list", "scalars", "nested", "non-str-key", "string",
        "float"])
def test_index_json_is_written_in_pieces_as_json_dumps_writes_it(value: object,
                                                                 items: int) -> None:
    """index.json is written piece by piece (a big corpus's passages are never one
    string); the bytes must be json.dumps's, so a saved index is unchanged by it."""
    pieces = list(_json_pieces(value, items))
    assert b"".join(pieces) == json.dumps(value, ensure_ascii=False).encode("utf-8")
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        assert len(pieces) > 2  # written key by key


class _CountingEncoder:
    """Embeds a text as (its length, its batch's size, 1): a batch's rows can be told
    apart, and ``short`` leaves a batch's last row out."""

    info = EncoderInfo("counting", "0" * 64, 3)

    def __init__(self, short: bool = False) -> None:
        self.short = short

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = [[len(t), len(texts), 1.0] for t in texts]
        return np.array(rows[:-1] if self.short else rows, dtype=np.float32)


@pytest.mark.parametrize("count", [0, 1, EMBED_BATCH, EMBED_BATCH + 1, 2 * EMBED_BATCH + 7])
def test_passages_are_embedded_batch_by_batch_into_one_array(count: int) -> None:
    passages = [_at("x" * (i % 13), f"S{i % 5}", i) for i in range(count)]
    encoder = _CountingEncoder()
    got = embed_passages(tuple(passages), encoder)
    batches = [encoder.encode([indexed_text(p) for p in passages[s:s + EMBED_BATCH]])
               for s in range(0, count, EMBED_BATCH)]
    expected = np.concatenate([np.zeros((0, 3), dtype=np.float32), *batches])
    assert got.dtype == expected.dtype and got.shape == (count, 3)
    np.testing.assert_array_equal(got, expected)


def test_an_encoder_that_returns_too_few_rows_is_refused() -> None:
    passages = tuple(_at(f"text {i}", "S", i) for i in range(EMBED_BATCH + 2))
    with pytest.raises(IndexFormatError, match="embeddings do not match"):
        embed_passages(passages, _CountingEncoder(short=True))
