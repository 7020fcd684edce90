import io
import itertools

import pytest

from axon.bundle import BundleError, BundleLimits, BundleReport, inspect_bundle
from axon.errors import AxonError
from axon.spec import SpecError
from axon.spec.errors import InstanceTypeNotAllowedError, ReplicasOverCapError
from tests.unit.bundle.builder import PREDICTOR, SAGEMAKER, BundleBuilder, ForwardOnlyStream, valid
from tests.unit.bundle.cases import CASES, Case, MiB

API = "iris"


def inspect(blob: bytes, limits: BundleLimits | None = None) -> BundleReport:
    return inspect_bundle(ForwardOnlyStream(blob), api=API, limits=limits or BundleLimits())


def refusal(blob: bytes, limits: BundleLimits | None = None) -> AxonError:
    with pytest.raises(AxonError) as caught:
        inspect(blob, limits)
    assert "\n" not in caught.value.message
    return caught.value


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_refusal_has_its_code(case: Case) -> None:
    assert refusal(case.build(), case.limits).code == case.code


def test_the_table_covers_every_error_code() -> None:
    def codes(cls: type[AxonError]) -> set[str]:
        return {cls.code}.union(*(codes(sub) for sub in cls.__subclasses__()))

    raised = codes(BundleError) - {BundleError.code}
    policy = {InstanceTypeNotAllowedError.code, ReplicasOverCapError.code}  # validation's, not inspection's
    assert {case.code for case in CASES.values()} == raised | (codes(SpecError) - policy)  # spec.invalid is raised


SPEC = "name: iris\npredictor: {path: ./src/model.py, config: {k: 1}}\nserving: {max_batch_size: 8}\n"
MODEL = PREDICTOR + b"\n    def predict_batch(self, payloads):\n        return payloads\n"
MEMBERS = {
    "axon.yaml": SPEC.encode(),
    "src/model.py": MODEL,
    "requirements.txt": b"numpy >= 1.26  # arrays\n\nscikit-learn==1.4\n",
    "weights/w.bin": bytes(range(256)) * 40,
}


def full_bundle(order: tuple[str, ...]) -> bytes:
    builder = BundleBuilder().dir("./")
    for name in order:
        builder.file(f"./{name}" if name.startswith("src") else name, MEMBERS[name])
    return builder.build()


def test_report_of_a_full_bundle() -> None:
    blob = full_bundle(tuple(MEMBERS))
    report = inspect_bundle(stream := ForwardOnlyStream(blob), api=API)
    assert stream.exhausted  # read to the gzip trailer, once, and never seeked
    assert report.spec.predictor.config == {"k": 1} and report.spec.serving.max_batch_size == 8
    assert report.predictor_path == "src/model.py"
    assert report.requirements_text == "numpy>=1.26\nscikit-learn==1.4\n"
    assert report.member_count == 5  # the "./" root entry counts


def test_member_order_does_not_matter() -> None:
    reports = [inspect(full_bundle(order)) for order in itertools.permutations(MEMBERS)]
    assert all(report == reports[0] for report in reports)


def test_sagemaker_style() -> None:
    blob = (
        BundleBuilder().file("code/inference.py", SAGEMAKER).file("axon.yaml", "predictor: {type: sagemaker}").build()
    )
    report = inspect(blob)
    assert (report.spec.predictor.type, report.predictor_path) == ("sagemaker", "code/inference.py")
    assert report.requirements_text == ""


def test_defaults_without_axon_yaml() -> None:
    report = inspect(valid().build())
    assert report.spec.name is None and report.predictor_path == "predictor.py"


def test_axon_yml_is_accepted_but_not_together_with_axon_yaml() -> None:
    assert inspect(valid().file("axon.yml", "name: iris").build()).spec.name == API
    both = valid(spec="name: iris").file("axon.yml", "name: iris").build()
    assert refusal(both).code == "spec.invalid"


def test_yaml_aliases_are_refused_before_they_can_multiply() -> None:
    laughs = "predictor:\n  config:\n    a: &a [x, x, x]\n    b: &b [*a, *a, *a]\n    c: [*b, *b, *b]\n"
    error = refusal(valid(spec=laughs).build())
    assert (error.code, "aliases" in error.message) == ("spec.invalid_yaml", True)


def test_a_later_member_replaces_an_earlier_one_as_extraction_would() -> None:
    assert refusal(valid().file("predictor.py", "x = 1").build()).code == "bundle.predictor_class_missing"
    assert inspect(valid(b"x = 1").file("predictor.py", PREDICTOR).build()).predictor_path == "predictor.py"


def test_a_hard_linked_predictor_is_read_through_its_link() -> None:
    blob = BundleBuilder().file("impl.py", PREDICTOR).hardlink("predictor.py", "impl.py").build()
    assert inspect(blob).predictor_path == "predictor.py"  # the link's target passed the predictor check


@pytest.mark.parametrize(
    ("builder", "code", "words"),
    [
        (BundleBuilder().dir("predictor.py"), "bundle.missing_predictor", "directory"),
        (
            BundleBuilder().file("impl.py", PREDICTOR).symlink("predictor.py", "impl.py"),
            "bundle.missing_predictor",
            "symlink",
        ),
        (valid().symlink("axon.yaml", "predictor.py"), "bundle.invalid_member", "regular file"),
        (valid(spec="predictor: {path: src/p.py}"), "bundle.missing_predictor", "'src/p.py'"),
    ],
    ids=["dir", "symlink", "control-file-symlink", "elsewhere"],
)
def test_the_predictor_and_control_files_must_be_regular_files(builder: BundleBuilder, code: str, words: str) -> None:
    error = refusal(builder.build())
    assert (error.code, words in error.message) == (code, True)


def test_sources_are_kept_within_caps_until_axon_yaml_names_the_predictor() -> None:
    limits = BundleLimits(max_text_file_bytes=4096, max_kept_source_bytes=2000)
    libs = BundleBuilder()
    for i in range(2):
        libs.file(f"lib/m{i}.py", b"#" * 990)
    late_spec = libs.file("src/p.py", PREDICTOR).file("axon.yaml", "predictor: {path: src/p.py}").build()
    error = refusal(late_spec, limits)
    assert (error.code, "put axon.yaml first" in error.message) == ("bundle.too_large", True)
    spec_first = BundleBuilder().file("axon.yaml", "predictor: {path: src/p.py}")
    for i in range(3):
        spec_first.file(f"lib/m{i}.py", b"#" * 900)
    assert inspect(spec_first.file("src/p.py", PREDICTOR).build(), limits).predictor_path == "src/p.py"
    big = valid(PREDICTOR + b"#" * 5000).build()
    assert refusal(big, limits).code == "bundle.too_large"
    huge_spec = valid(spec="#" * 5000).build()
    assert refusal(huge_spec, limits).code == "bundle.too_large"


def test_small_very_compressible_bundles_pass_the_default_ratio_check() -> None:
    assert inspect(valid().zeros("embeddings.bin", 8 * MiB).build()).member_count == 2


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """80 MiB of zeros (about 80 KiB compressed), then 1 MiB that does not compress."""
    return valid().zeros("w.bin", 80 * MiB).noise("tail.bin", MiB).build()


def test_a_bomb_is_refused_with_default_limits_long_before_its_end(bomb: bytes) -> None:
    stream = ForwardOnlyStream(bomb)
    with pytest.raises(BundleError) as caught:
        inspect_bundle(stream, api=API)
    assert caught.value.code == "bundle.compression_ratio"
    assert stream.bytes_read < len(bomb) / 4


def test_accepts_any_binary_reader() -> None:
    assert inspect_bundle(io.BytesIO(valid().build()), api=API).predictor_path == "predictor.py"


def test_a_sagemaker_model_tar_gz_is_accepted_as_it_is() -> None:
    blob = (
        BundleBuilder()
        .file("model.pth", b"\x00" * 64)
        .file("code/inference.py", SAGEMAKER)
        .file("code/requirements.txt", "torchvision==0.20.1\n")
        .build()
    )
    report = inspect(blob)
    assert (report.spec.predictor.type, report.predictor_path) == ("sagemaker", "code/inference.py")
    assert "torchvision==0.20.1" in report.requirements_text


def test_code_requirements_txt_is_read_only_for_the_sagemaker_style() -> None:
    report = inspect(valid().file("code/requirements.txt", "torch\n").file("requirements.txt", "numpy\n").build())
    assert report.spec.predictor.type == "python"
    assert "numpy" in report.requirements_text and "torch" not in report.requirements_text


def test_axon_yaml_anchors_are_refused_by_the_one_spec_parser() -> None:
    blob = valid().file("axon.yaml", "a: &x {k: 1}\nb: *x\n").build()
    assert refusal(blob).code == "spec.invalid_yaml"
