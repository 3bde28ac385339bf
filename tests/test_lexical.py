"""The lexical signal (qabot.retrieval.lexical) through a TF-IDF-only Ranker: ranking, scores,
save/load, stale and damaged indexes."""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

import qabot.retrieval.lexical as index_mod
from qabot import QABot, __version__
from qabot.answer import index_version
from qabot.documents import corpus_hash, load_corpus
from qabot.errors import IndexFormatError, QABotError
from qabot.passages import Passage, split_sentences
from qabot.retrieval import Ranker, load_encoder
from qabot.retrieval.lexical import section_numbers, section_texts

PASSAGES = (
    Passage(
        "The headquarters of the guild are in Lisbon, Portugal.",
        "Where is the guild based?",
        "guild.txt",
        0,
        60,
    ),
    Passage("Bananas are yellow fruits rich in potassium.", "Fruit", "guild.txt", 61, 110),
    Passage("The river flows north through the green valley.", "Geography", "guild.txt", 111, 160),
    Passage("Penguins live in cold southern places and eat fish.", "Birds", "guild.txt", 161, 220),
    Passage("Volcanoes erupt molten rock called lava.", "Geology", "guild.txt", 221, 270),
    Passage(
        "The guild was founded in 1901 by twelve carpenters.", "History", "guild.txt", 271, 330
    ),
)

QUERIES = [
    "potassium",
    "where are the headquarters",
    "when was the guild founded",
    "what do penguins eat",
    "lava",
    "zxqv wplm",
    "the of and",
]


@pytest.fixture(scope="module")
def index() -> Ranker:
    return Ranker.build(PASSAGES)


def test_index_holds_its_passages(index: Ranker) -> None:
    assert len(index) == len(PASSAGES)
    assert tuple(index.passages) == PASSAGES


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("potassium", 1),
        ("Which fruits are rich in potassium?", 1),
        ("Where are the headquarters?", 0),
        ("Lisbon", 0),
        ("valley river", 2),
        ("penguins", 3),
        ("What is lava?", 4),
        ("carpenters", 5),
        ("founded in 1901", 5),
    ],
)
def test_best_hit_shares_the_rare_word(index: Ranker, query: str, expected: int) -> None:
    best = index.search(query, k=3)[0]
    assert best.passage == PASSAGES[expected]
    assert best.position == expected
    assert best.score > 0


def test_section_heading_is_searchable_with_the_text(index: Ranker) -> None:
    # "based" only occurs in the section heading of the headquarters passage
    assert index.search("based", k=1)[0].position == 0
    assert index.search("geology", k=1)[0].position == 4


@pytest.mark.parametrize("query", QUERIES)
def test_scores_are_descending_and_within_zero_one(index: Ranker, query: str) -> None:
    hits = index.search(query, k=len(PASSAGES))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 + 1e-9 for s in scores)
    assert all(isinstance(s, float) for s in scores)
    assert sorted(h.position for h in hits) == list(range(len(PASSAGES)))
    for hit in hits:
        assert hit.passage == PASSAGES[hit.position]
    all_scores = index.scores(query)
    assert all_scores.shape == (len(PASSAGES),)
    assert np.all(all_scores >= 0) and np.all(all_scores <= 1 + 1e-9)
    assert np.allclose(sorted(all_scores, reverse=True), scores)


def test_identical_text_scores_high(index: Ranker) -> None:
    best = index.search(PASSAGES[3].text, k=1)[0]
    assert best.position == 3
    assert best.score > 0.5


@pytest.mark.parametrize("k", [1, 2, len(PASSAGES), len(PASSAGES) + 1, 100])
def test_k_hits_at_most_the_corpus(index: Ranker, k: int) -> None:
    hits = index.search("guild", k=k)
    assert len(hits) == min(k, len(PASSAGES))
    assert len({h.position for h in hits}) == len(hits)


def test_top_k_agrees_with_a_full_sort(index: Ranker) -> None:
    scores = index.scores("guild founded headquarters")
    for k in range(1, len(PASSAGES) + 1):
        top = [h.score for h in index.search("guild founded headquarters", k=k)]
        assert np.allclose(top, sorted(scores, reverse=True)[:k])


def test_spelling_corrections_are_each_index_own(index: Ranker) -> None:
    """Corrections are remembered per index: another corpus's index does not reuse them."""
    other = Ranker.build((Passage("Apples grow in the orchard.", "Fruit", "o.txt", 0, 27),))
    for _ in range(2):
        assert index.lexical.correct_spelling("Bananaz please") == "bananas please"
        assert other.lexical.correct_spelling("Bananaz please") == "Bananaz please"


@pytest.mark.parametrize("typo", ["headquaters", "hedquarters", "Headquartres"])
def test_typo_still_finds_the_passage(index: Ranker, typo: str) -> None:
    best = index.search(typo, k=1)[0]
    assert best.position == 0
    assert best.score > 0


def test_nonsense_scores_near_zero(index: Ranker) -> None:
    assert max(index.scores("zxqv wplm")) < 0.05


# --- save / load -----------------------------------------------------------------------

VERSION = "9.9.9-test"
HASH = "0" * 64


@pytest.fixture
def saved(tmp_path: Path, index: Ranker) -> Path:
    directory = tmp_path / "idx"
    index.save(directory, version=VERSION, corpus_hash=HASH)
    return directory


def test_save_writes_arrays_term_lists_and_json(saved: Path) -> None:
    names = sorted(p.name for p in saved.iterdir())
    assert {"index.json", "manifest.json", "word_terms.terms", "char_terms.terms",
            "stems.terms", "surface.terms", "word_counts.npy", "char_low.npy",
            "section_of.npy"} <= set(names)
    assert all(n.endswith((".npy", ".terms")) for n in names if not n.endswith(".json"))
    meta = json.loads((saved / "index.json").read_text("utf-8"))
    assert meta["version"] == VERSION
    assert meta["corpus_hash"] == HASH
    assert sorted(f"{n}.npy" for n in meta["arrays"]) == [n for n in names if n.endswith(".npy")]


def test_saved_arrays_are_plain_arrays_only(saved: Path) -> None:
    files = sorted(saved.glob("*.npy"))
    assert files
    for path in files:
        array = np.load(path, allow_pickle=False)  # would raise on pickled object arrays
        assert array.dtype != object


def test_a_loaded_index_maps_its_arrays_read_only(saved: Path) -> None:
    loaded = Ranker.load(saved, version=VERSION, corpus_hash=HASH, encoder=None)
    data = loaded.lexical._matrices["char"].counts
    assert not data.flags.writeable
    assert isinstance(data.base, np.memmap) or isinstance(getattr(data.base, "base", None),
                                                          np.memmap)


def test_an_index_of_the_previous_format_is_refused_with_what_to_do(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text("utf-8"))
    manifest["format"] = 4
    (saved / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexFormatError, match=r"format 4.*reads format 5.*rebuild"):
        Ranker.load(saved, version=VERSION, corpus_hash=HASH, encoder=None)


def test_saving_over_an_index_of_another_format_leaves_none_of_its_arrays(
        saved: Path, index: Ranker) -> None:
    np.save(saved / "char_data.npy", np.zeros(3))  # an array of format 4
    index.save(saved, version=VERSION, corpus_hash=HASH)
    meta = json.loads((saved / "index.json").read_text("utf-8"))
    assert sorted(p.stem for p in saved.glob("*.npy")) == sorted(meta["arrays"])
    Ranker.load(saved, version=VERSION, corpus_hash=HASH, encoder=None)


def test_round_trip_gives_the_same_passages_and_scores(saved: Path, index: Ranker) -> None:
    loaded = Ranker.load(saved, version=VERSION, corpus_hash=HASH, encoder=None)
    assert tuple(loaded.passages) == tuple(index.passages)
    for query in [*QUERIES, "headquaters", "Penguins and bananas"]:
        assert np.allclose(loaded.scores(query), index.scores(query))
        assert [h.position for h in loaded.search(query, k=3)] == [
            h.position for h in index.search(query, k=3)
        ]


def test_a_section_whose_passages_are_apart_scores_the_same_saved_and_loaded(
        tmp_path: Path) -> None:
    """A heading repeated later in a document is one section whose passages are not next
    to each other: the character rows are then stored section by section (char_order),
    which must give the same scores as scikit-learn's matrices, before and after a save."""
    passages = (
        Passage("Lisbon hosts the carpenters' guild.", "Notes", "d.txt", 0, 40),
        Passage("Bananas are yellow.", "Fruit", "d.txt", 41, 60),
        Passage("The guild was founded in 1901.", "Notes", "d.txt", 61, 95),
    )
    built = Ranker.build(passages)
    assert section_numbers(passages).tolist() == [0, 1, 0]
    assert built.lexical._char_order.tolist() == [0, 2, 1]
    built.save(tmp_path / "idx", version=VERSION, corpus_hash=HASH)
    loaded = Ranker.load(tmp_path / "idx", version=VERSION, corpus_hash=HASH, encoder=None)
    for query in ["guild founded", "yellow bananas", "Lisbon carpentrs"]:
        np.testing.assert_allclose(built.lexical.scores(query),
                                   built.lexical.full_matrix_scores(query), atol=1e-12)
        assert loaded.lexical.scores(query).tolist() == built.lexical.scores(query).tolist()


def test_round_trip_of_the_shipped_corpus(tmp_path: Path) -> None:
    docs = load_corpus(Path(__file__).resolve().parents[1] / "corpus")
    built = QABot.from_documents(docs, index_dir=tmp_path / "idx")
    loaded = QABot.from_documents(docs, index_dir=tmp_path / "idx")
    assert loaded.passages == built.passages
    for question in ["Where is the headquarters?", "Who is the Director General?"]:
        assert np.allclose(loaded.index.scores(question), built.index.scores(question))
        assert loaded.ask(question).to_dict() == built.ask(question).to_dict()


@pytest.mark.parametrize(
    ("version", "digest", "problem"),
    [
        pytest.param("0.0.1-other", HASH, "version", id="other-version"),
        pytest.param(VERSION, "f" * 64, "corpus", id="other-corpus"),
    ],
)
def test_load_refuses_a_foreign_index(saved: Path, version: str, digest: str, problem: str) -> None:
    with pytest.raises(IndexFormatError, match=problem):
        Ranker.load(saved, version=version, corpus_hash=digest, encoder=None)


def _truncate_npz(d: Path) -> None:
    data = (d / "char_counts.npy").read_bytes()
    (d / "char_counts.npy").write_bytes(data[: len(data) // 2])


def _drop_array(d: Path) -> None:
    for path in d.glob("*_idf.npy"):
        path.unlink()


def _drop_section_array(d: Path) -> None:
    for path in d.glob("section_char_*.npy"):
        path.unlink()


def _section_rows_do_not_match(d: Path) -> None:
    rows, cols = np.load(d / "section_word_shape.npy")
    np.save(d / "section_word_shape.npy", np.array([rows + 1, cols], dtype=np.int64))


def _drop_passage(d: Path) -> None:
    meta = json.loads((d / "index.json").read_text("utf-8"))
    meta["passages"] = {name: values[:-1] for name, values in meta["passages"].items()}
    (d / "index.json").write_text(json.dumps(meta), "utf-8")


def _bad_passage(d: Path) -> None:
    meta = json.loads((d / "index.json").read_text("utf-8"))
    meta["passages"]["words"] = meta["passages"].pop("text")  # not a passage field
    (d / "index.json").write_text(json.dumps(meta), "utf-8")


CORRUPTIONS = [
    pytest.param(lambda d: shutil.rmtree(d), id="missing-directory"),
    pytest.param(lambda d: (d / "index.json").unlink(), id="missing-json"),
    pytest.param(lambda d: (d / "word_counts.npy").unlink(), id="missing-npz"),
    pytest.param(lambda d: (d / "word_terms.terms").unlink(), id="missing-term-list"),
    pytest.param(lambda d: (d / "index.json").write_text("{not json", "utf-8"), id="garbage-json"),
    pytest.param(
        lambda d: (d / "index.json").write_text("[]", "utf-8"),
        id="json-not-an-object",
    ),
    pytest.param(lambda d: (d / "char_low.npy").write_bytes(b"not an array at all"),
                 id="garbage-npz"),
    pytest.param(
        _truncate_npz,
        id="truncated-npz",
    ),
    pytest.param(_drop_array, id="npz-missing-array"),
    pytest.param(_drop_section_array, id="npz-missing-section-array"),
    pytest.param(_section_rows_do_not_match, id="sections-do-not-match-passages"),
    pytest.param(_drop_passage, id="passages-do-not-match-matrix"),
    pytest.param(_bad_passage, id="malformed-passage"),
]


def _load_error(directory: Path) -> str:
    """The name of what loading raises: numpy can leave a file open on a broken archive,
    so the exception is dropped and collected here with ResourceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            Ranker.load(directory, version=VERSION, corpus_hash=HASH, encoder=None)
        except IndexFormatError as exc:
            assert str(directory) in str(exc)
            name = "IndexFormatError"
        except Exception as exc:  # noqa: BLE001 - reported as the test failure
            name = f"{type(exc).__name__}: {exc}"
        else:
            name = "no error"
        gc.collect()
    return name


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
def test_corrupt_or_missing_index_raises_index_format_error(saved: Path, corrupt) -> None:
    corrupt(saved)
    assert _load_error(saved) == "IndexFormatError"


def test_index_format_error_is_a_value_error() -> None:
    assert issubclass(IndexFormatError, ValueError)
    assert issubclass(IndexFormatError, QABotError)


# --- QABot with an index directory -----------------------------------------------------


def _write_corpus(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "guild.txt").write_text(text, encoding="utf-8")
    return folder


LISBON = (
    "Guild Facts\n\nHeadquarters\n\nThe guild has its headquarters in Lisbon, Portugal.\n\n"
    "Fruit\n\nBananas are yellow fruits rich in potassium.\n\n"
    "Birds\n\nPenguins live in cold southern places.\n"
)
OSLO = LISBON.replace("Lisbon, Portugal", "Oslo, Norway")


def test_from_documents_saves_then_reuses_a_fresh_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = load_corpus(_write_corpus(tmp_path / "corpus", LISBON))
    index_dir = tmp_path / "idx"
    first = QABot.from_documents(docs, index_dir=index_dir)
    meta = json.loads((index_dir / "index.json").read_text("utf-8"))
    assert meta["corpus_hash"] == corpus_hash(docs)
    assert meta["version"] == index_version()
    assert meta["version"].startswith(__version__ + "+")

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a fresh saved index must be loaded, not rebuilt")

    monkeypatch.setattr(Ranker, "build", classmethod(no_rebuild))
    second = QABot.from_documents(docs, index_dir=index_dir)
    assert second.passages == first.passages


def test_from_documents_rebuilds_and_overwrites_a_stale_index(tmp_path: Path) -> None:
    index_dir = tmp_path / "idx"
    old_docs = load_corpus(_write_corpus(tmp_path / "old", LISBON))
    QABot.from_documents(old_docs, index_dir=index_dir)

    new_docs = load_corpus(_write_corpus(tmp_path / "new", OSLO))
    assert corpus_hash(new_docs) != corpus_hash(old_docs)
    bot = QABot.from_documents(new_docs, index_dir=index_dir)
    answer = bot.ask("Where are the headquarters?")
    assert answer.found
    assert "Oslo" in answer.answer and "Lisbon" not in answer.answer
    assert not any("Lisbon" in p.text for p in bot.passages)

    meta = json.loads((index_dir / "index.json").read_text("utf-8"))
    assert meta["corpus_hash"] == corpus_hash(new_docs)
    reloaded = Ranker.load(index_dir, version=index_version(),
                           corpus_hash=corpus_hash(new_docs), encoder=load_encoder("static"))
    assert reloaded.passages == bot.passages


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda d: (d / "index.json").write_text("{", "utf-8"), id="garbage-json"),
        pytest.param(lambda d: (d / "word_counts.npy").unlink(), id="missing-npz"),
        pytest.param(
            _truncate_npz,
            id="truncated-npz",
        ),
    ],
)
def test_from_documents_rebuilds_a_corrupt_index(tmp_path: Path, corrupt) -> None:
    docs = load_corpus(_write_corpus(tmp_path / "corpus", LISBON))
    index_dir = tmp_path / "idx"
    QABot.from_documents(docs, index_dir=index_dir)
    corrupt(index_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            bot = QABot.from_documents(docs, index_dir=index_dir)
            error = None
        except Exception as exc:  # noqa: BLE001 - reported below
            bot, error = None, f"{type(exc).__name__}: {exc}"
        gc.collect()
    assert error is None
    assert "Lisbon" in bot.ask("Where are the headquarters?").answer
    assert Ranker.load(index_dir, version=index_version(), corpus_hash=corpus_hash(docs),
                       encoder=load_encoder("static"))


# --- section context -------------------------------------------------------------------


def _at(text: str, section: str, start: int) -> Passage:
    return Passage(text, section, "port.txt", start, start + len(text))


# The same sentence stands in two sections; only the Harbour section also speaks of pilots.
TWIN = (
    _at("Tide tables are sold here.", "Shop", 0),
    _at("Postcards and stamps are sold here too.", "Shop", 40),
    _at("Tide tables are sold here.", "Harbour", 80),
    _at("Pilot boats wait at the outer buoy.", "Harbour", 120),
)


def test_section_texts_group_passages_under_their_heading() -> None:
    section_of = section_numbers(TWIN)
    texts = section_texts(TWIN, section_of)
    assert texts == [
        "Shop\nTide tables are sold here.\nPostcards and stamps are sold here too.",
        "Harbour\nTide tables are sold here.\nPilot boats wait at the outer buoy.",
    ]
    assert section_of.tolist() == [0, 0, 1, 1]


def _tide_order(question: str) -> list[str]:
    hits = Ranker.build(TWIN).search(question, len(TWIN))
    return [h.passage.section for h in hits if h.passage.text.startswith("Tide")]


def test_the_section_breaks_a_tie_between_equal_passages(monkeypatch: pytest.MonkeyPatch) -> None:
    question = "Where are tide tables for pilot boats sold?"
    assert _tide_order(question) == ["Harbour", "Shop"]
    monkeypatch.setattr(index_mod, "SECTION_WEIGHT", 0.0)
    assert _tide_order(question) == ["Shop", "Harbour"]  # a tie, kept in corpus order


# --- scoring through the question's postings ---------------------------------------------

REPO = Path(__file__).resolve().parents[1]
GOLD_SETS = [REPO / "corpus" / "iom.questions.jsonl", *sorted(
    (REPO / "benchmarks" / "corpora").glob("*/*.questions.jsonl"))]


def _top5(ranker: Ranker, scores: np.ndarray) -> list[int]:
    return [hit.position for hit in ranker.top(scores, 5)]


@pytest.mark.parametrize("gold", GOLD_SETS, ids=lambda p: p.parent.name)
def test_postings_scores_equal_the_full_matrix_product(
    gold: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every gold question of every shipped corpus gets the scores, and the top five in the
    same order, that the full passage-by-feature product gave, lexical alone and fused with
    the default encoder."""
    ranker = QABot.from_path(gold.parent).index
    lexical = ranker.lexical
    questions = [json.loads(line)["question"] for line in gold.read_text().splitlines()
                 if line.strip()]
    assert len(questions) >= 20
    fused = [ranker.score(q).fused for q in questions]
    for question in questions:
        new, old = lexical.scores(question), lexical.full_matrix_scores(question)
        np.testing.assert_allclose(new, old, rtol=0, atol=1e-12, err_msg=question)
        assert _top5(ranker, new) == _top5(ranker, old), question
    monkeypatch.setattr(lexical, "scores", lexical.full_matrix_scores)
    for question, new in zip(questions, fused, strict=True):
        old = ranker.score(question).fused
        np.testing.assert_allclose(new, old, rtol=0, atol=1e-12, err_msg=question)
        assert _top5(ranker, new) == _top5(ranker, old), question


def test_a_question_of_unknown_words_scores_zero_through_postings(index: Ranker) -> None:
    assert not index.lexical.scores("zxqv wplm").any()
    assert not index.lexical.full_matrix_scores("zxqv wplm").any()


def _scikit_learn(lexical: index_mod.LexicalIndex) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    """scikit-learn vectorizers holding the index's vocabularies and idf: the reference."""
    word = TfidfVectorizer(analyzer=index_mod.analyze_words, sublinear_tf=True,
                           vocabulary=dict(lexical._word.vocabulary))
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5),
                           preprocessor=index_mod.normalize, sublinear_tf=True,
                           vocabulary=dict(lexical._char.vocabulary))
    word.idf_, char.idf_ = lexical._word.idf, lexical._char.idf
    return word, char


@pytest.mark.parametrize("gold", GOLD_SETS, ids=lambda p: p.parent.name)
def test_question_vectors_and_sentence_scores_are_scikit_learns(gold: Path) -> None:
    """The question's TF-IDF vector, computed without scikit-learn's input checks, is the
    very vector ``transform`` gives, and sentence scores the very numbers of the old
    sparse-matrix product, for every gold question (the empty one too)."""
    lexical = QABot.from_path(gold.parent, encoder="none").index.lexical
    questions = [json.loads(line)["question"] for line in gold.read_text().splitlines()
                 if line.strip()]
    for number, question in enumerate([*questions, "", "the of"]):
        dense = []
        reference = _scikit_learn(lexical)
        for space, vectorizer in zip((lexical._word, lexical._char), reference, strict=True):
            features, weights = index_mod._vector(space, question)
            expected = vectorizer.transform([question])
            dense.append(expected.toarray().ravel())
            assert features.tolist() == expected.indices.tolist(), question
            assert weights.tolist() == expected.data.tolist(), question
        passage = lexical.passages[number % len(lexical)]
        texts = [passage.text[start:end] for start, end in split_sentences(passage.text)]
        old = ((1 - index_mod.CHAR_WEIGHT) * (reference[0].transform(texts) @ dense[0])
               + index_mod.CHAR_WEIGHT * (reference[1].transform(texts) @ dense[1]))
        assert lexical.similarity(question, texts).tolist() == old.tolist(), question


def _one_text_at_a_time(space: index_mod.Space, columns: list[int]) -> tuple[list[int],
                                                                              list[float]]:
    """The reference for :func:`index_mod._vectors`: one text's vector as the index made it
    before texts were weighted together (a ``Counter``, its features sorted, numpy's
    ``1 + ln count`` times idf, the squares summed one by one in a Python float)."""
    counts = Counter(columns)
    features = np.array(sorted(counts), dtype=np.intp)
    weights = np.array([counts[f] for f in features.tolist()], dtype=np.float64)
    np.log(weights, weights)
    weights += 1.0
    weights *= space.idf[features]
    norm = 0.0
    for weight in weights.tolist():
        norm += weight * weight
    if norm:
        weights /= math.sqrt(norm)
    return features.tolist(), weights.tolist()


def _dot_in_feature_order(a: tuple[list[int], list[float]],
                          b: tuple[list[int], list[float]]) -> float:
    """The reference dot product of two sparse vectors, summed in ascending feature order."""
    weights = dict(zip(*b, strict=True))
    total = 0.0
    for feature, weight in zip(*a, strict=True):
        if feature in weights:
            total += weight * weights[feature]
    return total


#: Texts at the edges of sentence scoring: nothing, no known feature, only stop words, a
#: feature repeated, the question itself, two texts alike, non-ASCII.
EDGE_TEXTS = ["", " ", "zxqv wplm", "the of and", "guild guild guild guild",
              "Where is the guild based?", "Where is the guild based?",
              "Bananas, bananas: yellow fruits!", "Ünïcödé guild ﬁsh ’s"]


@pytest.mark.parametrize("question", [*QUERIES, "Where is the guild based?", ""])
def test_texts_weighted_together_score_as_each_weighted_alone(index: Ranker,
                                                              question: str) -> None:
    """Sentence scores, all texts weighted at once, are bit for bit the numbers of each
    text's own vector and dot product summed in feature order, for every sentence of the
    passages and texts at the edges; a text sharing nothing with the question scores a
    float 0.0."""
    lexical = index.lexical
    texts = [*EDGE_TEXTS, *(p.text[s:e] for p in PASSAGES for s, e in split_sentences(p.text))]
    word, char = (_one_text_at_a_time(space, columns) for space, columns in zip(
        (lexical._word, lexical._char), lexical._columns(question), strict=True))
    expected = []
    for text in texts:
        words, chars = (_one_text_at_a_time(space, columns) for space, columns in zip(
            (lexical._word, lexical._char), lexical._columns(text), strict=True))
        expected.append((1 - index_mod.CHAR_WEIGHT) * _dot_in_feature_order(words, word)
                        + index_mod.CHAR_WEIGHT * _dot_in_feature_order(chars, char))
    got = lexical.similarity(question, texts)
    assert got.dtype == np.float64 and got.tolist() == expected
    assert lexical.similarity(question, []).shape == (0,)
    assert lexical.similarity(question, ["zxqv"]).tolist() == [0.0]


@pytest.mark.parametrize("question", [*QUERIES, "Where is the guild based?", "", "guild " * 50])
def test_the_question_vectors_are_each_spaces_own_and_read_only(index: Ranker,
                                                                question: str) -> None:
    """The question's word and character vectors, weighted together in one column space,
    are each space's own vector (:func:`_vector`, found through ``Space.features``), and
    the joint vector is the two side by side, the character columns after the words'."""
    lexical = index.lexical
    word, char, joint = lexical._query(question)
    for (features, weights), space, columns in zip((word, char),
                                                   (lexical._word, lexical._char),
                                                   lexical._columns(question), strict=True):
        expected = index_mod._vector(space, question)
        assert features.tolist() == expected[0].tolist()
        assert weights.tolist() == expected[1].tolist()
        assert (features.tolist(), weights.tolist()) == _one_text_at_a_time(space, columns)
    assert joint[0].tolist() == [*word[0].tolist(),
                                 *(char[0] + len(lexical._word.idf)).tolist()]
    assert joint[1].tolist() == [*word[1].tolist(), *char[1].tolist()]
    for array in (*word, *char, *joint):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[:1] = 0


def test_an_index_folder_inside_the_corpus_folder_is_not_read_as_documents(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _write_corpus(tmp_path / "corpus", LISBON)
    first = QABot.from_path(corpus, index_dir=corpus / "idx", encoder="none")
    assert {p.document for p in first.passages} == {"guild.txt"}

    def no_rebuild(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the saved index must be loaded: it is not part of the corpus")

    monkeypatch.setattr(Ranker, "build", classmethod(no_rebuild))
    again = QABot.from_path(corpus, index_dir=corpus / "idx", encoder="none")
    assert again.passages == first.passages
    question = "Where are the headquarters?"
    assert again.ask(question).to_dict() == first.ask(question).to_dict()



def test_coverage_is_the_same_bits_whatever_the_hash_seed(tmp_path: Path) -> None:
    # Two processes with other hash seeds must agree to the last bit (replicas then answer
    # alike at the MIN_COVERAGE boundary): the stems are summed in sorted order.
    (tmp_path / "doc.txt").write_text(
        "Health\n\nMigrants get health support from clinics and mobile teams.\n\n"
        "Resettlement\n\nRefugees are resettled with funding from member states.\n\n"
        "Funding\n\nMember states fund health, resettlement and transport programmes.\n",
        encoding="utf-8")
    script = ("import sys\nfrom qabot import QABot\n"
              "b = QABot.from_path(sys.argv[1], encoder='none')\n"
              "q = 'How do migrants and refugees get health support and resettlement funding?'\n"
              "print(repr([b.index.coverage(q, i) for i in range(len(b.passages))]))\n")
    outputs = {subprocess.run([sys.executable, "-c", script, str(tmp_path)],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3", "4")}
    assert len(outputs) == 1, outputs
