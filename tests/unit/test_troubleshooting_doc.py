"""docs/troubleshooting.md documents every reason code a user can see.

The codes come from the code base itself: the ``code`` class attribute of every :class:`axon.errors.AxonError`
subclass (after importing every module of axon, axon_serving and axon_local), the codes passed as ``code="..."``
where an error or a registry reason is made, the reconciler's execution codes and the platform phases that become
``deployment.<phase>``.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import axon_serving

import axon
import axon_local
from axon.errors import AxonError
from axon.platforms.base import DeploymentPhase
from axon.rollout import recovery

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "troubleshooting.md").read_text()
CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
KEYWORD_CODE = re.compile(r"""\bcode=["']([a-z_]+(?:\.[a-z_]+)+)["']""")


def documented() -> set[str]:
    """The first column of every table row after "Where to look": the codes the page explains."""
    codes = DOC.split("\n## Where to look\n", 1)[1].split("\n## ", 1)[1]
    return set(re.findall(r"^\| `([^`]+)` \|", codes, flags=re.M))


def subclasses(cls: type[AxonError]) -> set[type[AxonError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= subclasses(sub)
    return found


def error_classes() -> set[type[AxonError]]:
    for package in (axon, axon_serving, axon_local):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    return {AxonError} | subclasses(AxonError)


def class_codes() -> set[str]:
    return {cls.code for cls in error_classes() if "code" in vars(cls)}


def keyword_codes() -> set[str]:
    sources = [
        *(ROOT / "axon").rglob("*.py"),
        *(ROOT / "model_images").rglob("*.py"),
        *(ROOT / "lambdas").rglob("*.py"),
    ]
    return {code for source in sources for code in KEYWORD_CODE.findall(source.read_text())}


def test_every_error_class_code_is_documented() -> None:
    codes = class_codes()
    assert {"bundle.path_traversal", "serving.queue_full", "cli.discovery", "aws.transient"} <= codes
    assert all(CODE.match(code) for code in codes), codes
    assert codes - documented() == set()


def test_every_code_given_where_an_error_or_reason_is_made_is_documented() -> None:
    codes = keyword_codes()
    assert {"rollout.superseded", "autoscaler.forget_incomplete"} <= codes
    assert codes - documented() == set()


def test_the_workflow_codes_are_documented() -> None:
    execution_codes = {code for code, _ in recovery._ENDED_CODES.values()}
    phases = {f"deployment.{phase.value}" for phase in (DeploymentPhase.ROLLED_BACK, DeploymentPhase.FAILED)}
    assert phases == {"deployment.rolled_back", "deployment.failed"}
    assert (execution_codes | phases) - documented() == set()


def test_the_page_documents_no_code_that_does_not_exist() -> None:
    known = class_codes() | keyword_codes() | {code for code, _ in recovery._ENDED_CODES.values()}
    known |= {"deployment.rolled_back", "deployment.failed", "rollout.<ErrorType>", "rollout.<status>"}
    assert documented() - known == set()
