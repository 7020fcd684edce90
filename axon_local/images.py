"""Local image builds: one Python environment per image key, the Docker-free counterpart of the serving image.

``ensure_environment`` builds, once per key, a virtualenv that sees the running interpreter's packages (the
serving runtime and its dependencies) with the bundle's ``requirements.txt`` installed on top, so a requirement
that pins another version wins inside that environment only. Keys are content hashes (runtime + requirements +
code), so an unchanged bundle never rebuilds; a bundle without requirements runs on the running interpreter.
pip installs the same file the image build installs (:func:`axon.bundle.build_requirements.pip_requirements`):
binary wheels only unless the bundle's ``axon.yaml`` sets ``build.allow_source_builds``.

``build_image`` also records the image in the local ECR, as CodeBuild's push does on AWS, and returns its URI
(``<account>.dkr.ecr.<region>.amazonaws.com/axon-serving:rt-<key>``); ``python_for_image`` maps that URI back to
the interpreter the replica manager runs ``-m axon_serving`` with.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import site
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from axon import names
from axon.bundle.build_requirements import pip_requirements

_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_READY = "axon-ready.json"
_OUTPUT_TAIL = 3000


class ImageBuildError(Exception):
    """The environment could not be built (usually pip could not install a requirement)."""

    code = "image.build_failed"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("AXON_CACHE_DIR", str(Path(base) / "axon")))


def _has_requirements(requirements_text: str) -> bool:
    return any(line.split("#", 1)[0].strip() for line in requirements_text.splitlines())


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across threads and processes: two builds of one key never run at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _env_python(env: Path) -> Path:
    return env / "bin" / "python"


def _site_packages(env: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return env / "lib" / version / "site-packages"


def _build(env: Path, requirements_text: str) -> None:
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(env)
    # `import site` lines in a .pth run at start-up: addsitedir also processes the runtime's own .pth files
    # (editable installs), which a plain path line would not. Appended after the env's site-packages, so the
    # bundle's requirements take precedence over the runtime's copies.
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    (_site_packages(env) / "_axon_runtime.pth").write_text(lines)
    requirements = env / "requirements.txt"
    requirements.write_text(requirements_text)
    command = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(_env_python(env)),
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
        str(requirements),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ImageBuildError(f"pip install failed (exit {result.returncode}): {output[-_OUTPUT_TAIL:]}")


def ensure_environment(
    image_key: str, requirements_text: str, *, cache_dir: Path | None = None, allow_source_builds: bool = False
) -> Path:
    """The interpreter of the environment for ``image_key``, built on first use.

    Returns ``sys.executable`` when there are no requirements. A build that fails leaves nothing behind and
    raises :class:`ImageBuildError`; a build interrupted half-way is redone, since only a finished build
    writes its ready marker.

    Examples
    --------
    >>> ensure_environment("3f2a9c", "")  # doctest: +SKIP
    PosixPath('/usr/bin/python3')
    """
    if not _KEY_RE.match(image_key):
        raise ValueError(f"invalid image key {image_key!r}")
    if not _has_requirements(requirements_text):
        return Path(sys.executable)
    root = (cache_dir or default_cache_dir()) / "envs"
    env = root / image_key
    with _file_lock(root / f"{image_key}.lock"):
        if (env / _READY).is_file():
            return _env_python(env)
        try:
            _build(env, pip_requirements(requirements_text, allow_source_builds=allow_source_builds))
        except BaseException:
            shutil.rmtree(env, ignore_errors=True)
            raise
        digest = hashlib.sha256(requirements_text.encode()).hexdigest()
        (env / _READY).write_text(json.dumps({"requirements_sha256": digest, "python": sys.executable}))
    return _env_python(env)


def image_key_of(image_uri: str) -> str | None:
    """``...:rt-<key>`` -> ``<key>``; ``None`` for an image axon did not build."""
    tag = image_uri.rsplit(":", 1)[-1] if ":" in image_uri.rsplit("/", 1)[-1] else ""
    prefix = names.image_tag("")
    return tag[len(prefix) :] if tag.startswith(prefix) and len(tag) > len(prefix) else None


def python_for_image(image_uri: str, *, cache_dir: Path | None = None) -> Path:
    """The interpreter that plays ``image_uri``: its built environment, else the running interpreter."""
    key = image_key_of(image_uri)
    if key is not None and _KEY_RE.match(key):
        env = (cache_dir or default_cache_dir()) / "envs" / key
        if (env / _READY).is_file():
            return _env_python(env)
    return Path(sys.executable)


def build_image(
    image_key: str,
    requirements_text: str,
    *,
    ecr: Any,
    repository: str = names.ECR_REPOSITORY,
    cache_dir: Path | None = None,
    allow_source_builds: bool = False,
) -> str:
    """Build the environment, record ``rt-<key>`` in the local ECR, return the image URI. Idempotent."""
    ensure_environment(image_key, requirements_text, cache_dir=cache_dir, allow_source_builds=allow_source_builds)
    try:
        repo = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        repo = ecr.create_repository(repositoryName=repository, imageTagMutability="IMMUTABLE")["repository"]
    tag = names.image_tag(image_key)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 0,
                "digest": f"sha256:{hashlib.sha256(image_key.encode()).hexdigest()}",
            },
            "layers": [],
        }
    )
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)
    return f"{repo['repositoryUri']}:{tag}"
