"""``docker`` for the buildspec test: a checker of what ``docker build`` would need, and a registry client for moto.

- ``build``: the Dockerfile and the context exist; every ``FROM`` is a pinned image or an earlier stage; the
  ``--target`` stage exists; every ``--build-arg`` is declared; every ``COPY``/``ADD`` source of the stages
  built exists in the context (wildcards as Docker matches them, nothing outside it). The tag is recorded.
- ``login``: the registry is an ECR registry and the password is the one ECR's GetAuthorizationToken gives.
- ``run``: only ``python -m <module>`` in an image built here; it runs with the image's context on ``PYTHONPATH``
  and fails unless the module comes from that context (so the source must hold it).
- ``push``: to a registry logged in to, of an image built here: ECR ``PutImage`` in moto, which refuses an
  existing tag of an immutable repository; the shim then prints Docker's error and fails, as ``docker push`` does.
  With ``$AXON_SHIM_RACE`` set, a concurrent build of the same tag pushes first.
Anything else fails. Every call is appended to ``$AXON_SHIM_LOG``.
"""

from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from dockerfile_parse import DockerfileParser

STATE = Path(os.environ["AXON_SHIM_STATE"])
ECR_REGISTRY = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$")
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class Refused(Exception):
    """What Docker would refuse (or this checker cannot vouch for)."""


def _log(**entry: Any) -> None:
    with open(os.environ["AXON_SHIM_LOG"], "a") as log:
        log.write(json.dumps({"tool": "docker", **entry}) + "\n")


def _state(name: str) -> dict[str, Any]:
    path = STATE / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save(name: str, data: dict[str, Any]) -> None:
    (STATE / f"{name}.json").write_text(json.dumps(data))


def _copy_sources(value: str) -> list[str]:
    """The sources of a COPY/ADD value; ``[]`` for ``--from`` (a stage or image, not the context)."""
    parts = json.loads(value) if value.lstrip().startswith("[") else shlex.split(value)
    flags = [p for p in parts if p.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        return []
    paths = [p for p in parts if not p.startswith("--")]
    if len(paths) < 2:
        raise Refused(f"COPY needs a source and a destination: {value!r}")
    return paths[:-1]


def _check_source(context: Path, source: str) -> None:
    if Path(source).is_absolute() or ".." in Path(source).parts:
        raise Refused(f"COPY source {source!r} is outside the build context")
    matches = glob.glob(str(context / source))
    if not matches:
        raise Refused(f"COPY source {source!r} does not exist in the build context {context}")


def build(args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="docker build", exit_on_error=False)
    parser.add_argument("--file", "-f", required=True)
    parser.add_argument("--target")
    parser.add_argument("--tag", "-t", required=True)
    parser.add_argument("--build-arg", action="append", default=[])
    parser.add_argument("context")
    options = parser.parse_args(args)
    dockerfile, context = Path(options.file).resolve(), Path(options.context).resolve()
    if not dockerfile.is_file():
        raise Refused(f"Dockerfile {options.file} does not exist")
    if not context.is_dir():
        raise Refused(f"build context {options.context} is not a directory")
    instructions = DockerfileParser(path=str(dockerfile)).structure
    stages: list[str] = []
    declared: set[str] = set()
    checked = 0
    for instruction in instructions:
        name, value = instruction["instruction"], instruction["value"]
        if name == "FROM":
            if options.target is not None and options.target in stages:
                break  # the stages after the target are not built
            image, _, alias = value.partition(" AS ") if " AS " in value else value.partition(" as ")
            image = image.strip()
            if image not in stages and (":" not in image or image.endswith(":latest")):
                raise Refused(f"FROM {image}: neither an earlier stage nor a pinned image")
            stages.append(alias.strip() or f"stage-{len(stages)}")
        elif name == "ARG":
            declared.add(value.split("=", 1)[0].strip())
        elif name in {"COPY", "ADD"}:
            for source in _copy_sources(value):
                _check_source(context, source)
                checked += 1
    if options.target is not None and options.target not in stages:
        raise Refused(f"target stage {options.target!r} is not in {options.file}")
    for build_arg in options.build_arg:
        if build_arg.split("=", 1)[0] not in declared:
            raise Refused(f"--build-arg {build_arg} is declared by no ARG in {options.file}")
    images = _state("images")
    images[options.tag] = {"context": str(context), "dockerfile": str(dockerfile), "target": options.target}
    _save("images", images)
    _log(command="build", tag=options.tag, target=options.target, copies_checked=checked, build_args=options.build_arg)
    print(f"Successfully tagged {options.tag}")


def login(args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="docker login", exit_on_error=False)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password-stdin", action="store_true", required=True)
    parser.add_argument("registry")
    options = parser.parse_args(args)
    if not ECR_REGISTRY.match(options.registry) or options.username != "AWS":
        raise Refused(f"not an ECR registry login: {options.username}@{options.registry}")
    token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    if sys.stdin.read().strip() != base64.b64decode(token).decode().partition(":")[2]:
        raise Refused("Error response from daemon: login attempt failed: 401 Unauthorized")
    _save("logins", {**_state("logins"), options.registry: True})
    _log(command="login", registry=options.registry)
    print("Login Succeeded")


def run(args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="docker run", exit_on_error=False)
    for flag in ("--rm", "-i", "--read-only"):
        parser.add_argument(flag, action="store_true")
    parser.add_argument("--network")
    parser.add_argument("--user")
    parser.add_argument("image")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(args)
    image = _state("images").get(options.image)
    if image is None:
        raise Refused(f"Unable to find image '{options.image}' locally (not built by this build)")
    if options.command[:2] != ["python", "-m"] or len(options.command) < 3:
        raise Refused(f"this checker runs only `python -m <module>` in an image, not {options.command}")
    module, module_args, context = options.command[2], options.command[3:], image["context"]
    bootstrap = (
        "import runpy, sys, pathlib\n"
        f"spec = __import__('importlib.util').util.find_spec({module!r})\n"
        f"assert spec and spec.origin and pathlib.Path(spec.origin).is_relative_to({context!r}), "
        f"f'{module} is not in the image source {context}: {{spec and spec.origin}}'\n"
        f"sys.argv = [{module!r}, *{module_args!r}]\n"
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    )
    _log(command="run", image=options.image, network=options.network, user=options.user, read_only=options.read_only)
    env = {**os.environ, "PYTHONPATH": context, "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run([sys.executable, "-c", bootstrap], env=env, cwd=STATE, check=False)
    if completed.returncode:
        raise SystemExit(completed.returncode)


def _manifest(seed: str) -> str:
    """A manifest whose one layer is unique to ``seed`` (moto's digest is computed from the layer digests)."""
    digest = f"sha256:{hashlib.sha256(seed.encode()).hexdigest()}"
    config = {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": digest}
    layer = {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": digest}
    return json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": config, "layers": [layer]})


def push(args: list[str]) -> None:
    (uri,) = args
    registry, _, rest = uri.partition("/")
    repository, _, tag = rest.rpartition(":")
    if not _state("logins").get(registry):
        raise Refused(f"no basic auth credentials (not logged in to {registry})")
    image = _state("images").get(uri)
    if image is None or image["target"] is not None:
        raise Refused(f"An image does not exist locally with the tag: {uri}")
    ecr = boto3.client("ecr")
    if os.environ.get("AXON_SHIM_RACE"):
        ecr.put_image(repositoryName=repository, imageTag=tag, imageManifest=_manifest(f"concurrent {uri}"))
        _log(command="race", tag=tag)
    try:
        pushed = ecr.put_image(repositoryName=repository, imageTag=tag, imageManifest=_manifest(json.dumps(image)))
    except ClientError as error:
        # AWS answers ImageTagAlreadyExistsException; moto 5 answers ImageAlreadyExistsException for the same case.
        if error.response["Error"]["Code"] not in {"ImageTagAlreadyExistsException", "ImageAlreadyExistsException"}:
            raise
        _log(command="push", uri=uri, refused=True)
        raise Refused(
            f"tag invalid: The image tag '{tag}' already exists in the '{repository}' repository and cannot be "
            "overwritten because the repository is immutable."
        ) from None
    _log(command="push", uri=uri, refused=False)
    print(f"{tag}: digest: {pushed['image']['imageId']['imageDigest']} size: 1")


def main(argv: list[str]) -> int:
    commands = {"build": build, "login": login, "run": run, "push": push}
    if not argv or argv[0] not in commands:
        print(f"docker: this checker does not support {argv}", file=sys.stderr)
        return 125
    try:
        commands[argv[0]](argv[1:])
    except (Refused, argparse.ArgumentError) as error:
        print(f"docker {argv[0]}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
