"""One bundle per refusal code, shared by the inspector's and the extractor's tests."""

from __future__ import annotations

import gzip
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field

from axon.bundle import BundleLimits
from tests.unit.bundle import hostile
from tests.unit.bundle.builder import BundleBuilder, valid

MiB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    build: Callable[[], bytes]
    code: str
    limits: BundleLimits = field(default_factory=BundleLimits)
    member_level: bool = True
    """Refused by the member rules, so ``safe_extract`` refuses it with the same code."""


CASES: dict[str, Case] = {
    "not gzip": Case(lambda: b"PK\x03\x04 this is a zip", "bundle.not_gzip"),
    "gzip of text": Case(lambda: gzip.compress(b"just text\n" * 100), "bundle.not_tar"),
    "truncated": Case(lambda: valid().noise("w.bin", 4096).build()[:-100], "bundle.corrupt"),
    "absolute path": Case(lambda: valid().file("/etc/cron.d/own", "* * * * * root sh").build(), "bundle.absolute_path"),
    "dot-dot": Case(lambda: valid().file("models/../../escape.txt").build(), "bundle.path_traversal"),
    "symlink out": Case(lambda: valid().symlink("data", "../../etc").build(), "bundle.link_escape"),
    "file under a file": Case(lambda: valid().file("a").file("a/b").build(), "bundle.invalid_member"),
    "fifo": Case(lambda: valid().entry("pipe", tarfile.FIFOTYPE).build(), "bundle.special_file"),
    "setuid file": Case(lambda: valid().file("bin/tool", "#!/bin/sh\n", mode=0o4755).build(), "bundle.special_mode"),
    "sparse member": Case(hostile.gnu_sparse, "bundle.sparse_member"),
    "header chain": Case(lambda: hostile.header_chain(100), "bundle.header_chain"),
    "too many members": Case(
        lambda: valid().file("a").file("b").file("c").build(), "bundle.too_many_members", BundleLimits(max_members=3)
    ),
    "member too large": Case(
        lambda: valid().noise("w.bin", 2000).build(), "bundle.too_large", BundleLimits(max_member_bytes=1000)
    ),
    "zip bomb": Case(
        lambda: valid().zeros("w.bin", 8 * MiB).build(),
        "bundle.compression_ratio",
        BundleLimits(compression_ratio_floor_bytes=MiB),
    ),
    "no predictor": Case(
        lambda: BundleBuilder().file("axon.yaml", "name: iris").build(), "bundle.missing_predictor", member_level=False
    ),
    "both requirements files": Case(
        lambda: (
            BundleBuilder()
            .file("code/inference.py", "def model_fn(model_dir): ...")
            .file("requirements.txt", "numpy")
            .file("code/requirements.txt", "torch")
            .build()
        ),
        "bundle.ambiguous_requirements",
        member_level=False,
    ),
    "predictor syntax": Case(lambda: valid(b"def (").build(), "bundle.predictor_syntax", member_level=False),
    "no Predictor class": Case(lambda: valid(b"x = 1\n").build(), "bundle.predictor_class_missing", member_level=False),
    "no model_fn": Case(
        lambda: (
            BundleBuilder()
            .file("axon.yaml", "predictor: {type: sagemaker}")
            .file("code/inference.py", "def predict_fn(data, model): ...")
            .build()
        ),
        "bundle.model_fn_missing",
        member_level=False,
    ),
    "bad requirements": Case(
        lambda: valid().file("requirements.txt", "numpy\n-e .\n").build(),
        "bundle.requirements_invalid",
        member_level=False,
    ),
    "bad yaml": Case(lambda: valid(spec="serving: [1, 2").build(), "spec.invalid_yaml", member_level=False),
    "bad spec": Case(lambda: valid(spec="compute: {gpu: -1}").build(), "spec.invalid", member_level=False),
    "name mismatch": Case(lambda: valid(spec="name: other-api").build(), "spec.name_mismatch", member_level=False),
    "rollout too long": Case(
        lambda: valid(spec="rollout: {strategy: linear, linear_step_percent: 1, bake_seconds: 3600}").build(),
        "spec.rollout_too_long",
        member_level=False,
    ),
    "async smoke test on ecs": Case(
        lambda: valid(
            spec="kind: async\ncompute: {platform: ecs, instance_type: g5.xlarge}\nsmoke_test: {payload: {x: 1}}"
        ).build(),
        "spec.async_unsupported",
        member_level=False,
    ),
}
