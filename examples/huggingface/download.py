"""Fetch the model's files into model/ before packing: `python download.py`, then `axon deploy . --api sentiment`.

The serving replica never downloads anything: it loads model/ from the bundle, so a rollout does not depend on the
Hugging Face Hub being reachable and every version serves exactly the weights it was validated with.

Needs `huggingface_hub` (transformers depends on it). The default model is DistilBERT fine-tuned on SST-2
(English sentiment, about 270 MB of safetensors); any sequence-classification model works, e.g.
`python download.py --repo-id <org>/<model> --revision <commit>`.
"""

import argparse
import shutil
from pathlib import Path

from huggingface_hub import snapshot_download

DEFAULT_REPO = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
# Only what transformers needs to load it (no TF, Flax, ONNX or .bin copies of the same weights).
PATTERNS = ["config.json", "*.safetensors", "tokenizer*", "vocab.txt", "special_tokens_map.json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo-id", default=DEFAULT_REPO)
    parser.add_argument("--revision", default="main", help="a branch, tag or commit; a commit pins the weights")
    args = parser.parse_args()
    target = Path(__file__).parent / "model"
    snapshot_download(args.repo_id, revision=args.revision, local_dir=target, allow_patterns=PATTERNS)
    shutil.rmtree(target / ".cache", ignore_errors=True)  # huggingface_hub's download metadata, not the model
    files = sorted(p for p in target.rglob("*") if p.is_file())
    print(
        f"{args.repo_id}@{args.revision}: {len(files)} files, {sum(p.stat().st_size for p in files)} bytes in {target}"
    )


if __name__ == "__main__":
    main()
