"""``axon-serve``: the container entrypoint (SageMaker runs ``<image> serve``) and the local stack's server.

    axon-serve [serve] [--model-dir DIR] [--port PORT] [--host HOST] [--workers N] [--bundle-uri S3_URI]
               [--header-timeout S] [--body-timeout S] [--keep-alive-timeout S] [--max-connections N]

Defaults follow SageMaker's container contract: model dir ``/opt/ml/model``, port 8080 or
``SAGEMAKER_BIND_TO_PORT``, all interfaces. ``--workers`` defaults to ``serving.workers`` in ``axon.yaml``.
The connection limits (``limits.py``) also read ``AXON_HEADER_TIMEOUT``, ``AXON_BODY_TIMEOUT``,
``AXON_KEEP_ALIVE_TIMEOUT`` and ``AXON_MAX_CONNECTIONS``: SageMaker passes no flags, only environment.

Worker mode (``AXON_ASYNC_QUEUE_URL`` set by the ECS platform for a ``kind: async`` API): the server listens on
``127.0.0.1`` only and a queue poller feeds it (``worker_mode.py``, ``queue_worker.py``).

Exit status: 0 after a drain; 2 when the bundle or ``axon.yaml`` cannot be read; 3 when the predictor fails to
load. In both failure cases stderr ends with one ``axon-serve: model failed to load: ...`` line
(``axon.names.MODEL_LOAD_FAILED_MARKER``), which the platforms look for in the replica's log.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from axon.errors import AxonError
from axon_serving.errors import announce_load_failure
from axon_serving.limits import BODY_MIN_RATE, BODY_TIMEOUT, HEADER_TIMEOUT, KEEP_ALIVE_TIMEOUT, MAX_CONNECTIONS, Limits

DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
DEFAULT_DRAIN_SECONDS = 25  # under ECS's default 30 s stopTimeout, so the drain ends before SIGKILL

logger = logging.getLogger("axon_serving")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    model_dir: Path
    host: str
    port: int
    workers: int | None  # None: serving.workers from axon.yaml
    bundle_uri: str | None
    drain_seconds: int
    log_level: str
    limits: Limits = field(default_factory=Limits)


# (flag, type, default, help): each may also be set by AXON_<FLAG> in the environment; all must be positive.
_LIMIT_OPTIONS: tuple[tuple[str, type, float, str], ...] = (
    (
        "header-timeout",
        float,
        HEADER_TIMEOUT,
        "seconds to receive a request line and headers, from accept or the request's first byte; then 408 and close",
    ),
    (
        "body-timeout",
        float,
        BODY_TIMEOUT,
        f"seconds to receive a body after its headers, plus 1 s per {BODY_MIN_RATE // 1024} KiB received; then 408 "
        "and close (the default is SageMaker's invocation timeout)",
    ),
    (
        "keep-alive-timeout",
        float,
        KEEP_ALIVE_TIMEOUT,
        "seconds an idle connection stays open between requests; keep it above the load balancer's idle timeout "
        "(ALB: 60)",
    ),
    ("max-connections", int, MAX_CONNECTIONS, "open connections; one more is answered 503 and closed at once"),
)


def parse_options(argv: Sequence[str], env: Mapping[str, str]) -> ServeOptions:
    """Flags win over environment variables, which win over defaults."""
    parser = argparse.ArgumentParser(prog="axon-serve", description="Serve a model bundle over HTTP.")
    parser.add_argument("command", nargs="?", choices=["serve"], help="accepted as SageMaker passes it")
    parser.add_argument("--model-dir", default=env.get("AXON_MODEL_DIR", DEFAULT_MODEL_DIR))
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=int(env.get("SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT)))
    parser.add_argument("--workers", type=int, default=None, help="processes; default serving.workers")
    parser.add_argument("--bundle-uri", default=env.get("AXON_BUNDLE_URI"), help="s3://bucket/key?versionId=")
    parser.add_argument("--drain-seconds", type=int, default=DEFAULT_DRAIN_SECONDS)
    parser.add_argument("--log-level", default=env.get("AXON_LOG_LEVEL", "info"))
    group = parser.add_argument_group("connection limits, per worker process (docs/serving.md)")
    for flag, kind, default, text in _LIMIT_OPTIONS:
        variable = "AXON_" + flag.upper().replace("-", "_")
        help_text = f"{text} (default %(default)s; env {variable})"
        group.add_argument(f"--{flag}", type=kind, default=env.get(variable, f"{default:g}"), help=help_text)
    args = parser.parse_args(list(argv))
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    for flag, *_ in _LIMIT_OPTIONS:
        if not getattr(args, flag.replace("-", "_")) > 0:
            parser.error(f"--{flag} must be positive")
    return ServeOptions(
        model_dir=Path(args.model_dir),
        host=args.host,
        port=args.port,
        workers=args.workers,
        bundle_uri=args.bundle_uri or None,
        drain_seconds=args.drain_seconds,
        log_level=args.log_level.lower(),
        limits=Limits(args.header_timeout, args.body_timeout, args.keep_alive_timeout, args.max_connections),
    )


def serve(options: ServeOptions) -> int:
    """Serve the model; with ``AXON_ASYNC_QUEUE_URL`` (an ECS async API) also poll its queue (worker mode)."""
    from axon_serving import worker_mode

    if worker_mode.enabled(os.environ):
        return worker_mode.serve_worker(options, serve_http)
    return serve_http(options)


def serve_http(options: ServeOptions) -> int:
    """Prepare the model dir, bind, and run one worker in-process or several under a supervisor."""
    from axon_serving.bundle_source import fetch_bundle
    from axon_serving.devices import WorkerPlan, plan_workers, visible_gpus
    from axon_serving.limits import capacity_warning
    from axon_serving.loader import read_spec
    from axon_serving.supervisor import Supervisor
    from axon_serving.worker import bind, build_app, run_worker

    if options.bundle_uri:
        fetch_bundle(options.bundle_uri, options.model_dir)
    spec = read_spec(options.model_dir)
    gpus = visible_gpus(os.environ)
    if spec.compute.gpu and not gpus:
        logger.warning("compute.gpu is %d but no GPU is visible: serving on CPU", spec.compute.gpu)
    if warning := capacity_warning(spec.serving, options.limits):
        logger.warning("%s", warning)
    plans = plan_workers(options.workers or spec.serving.workers, spec.compute.gpu, gpus)
    sock = bind(options.host, options.port)
    logger.info("serving %s on %s:%d with %d worker(s)", options.model_dir, options.host, options.port, len(plans))

    def work(plan: WorkerPlan) -> int:
        return run_worker(
            build_app(options.model_dir, spec, os.environ),
            sock,
            options.drain_seconds,
            options.log_level,
            options.limits,
        )

    if len(plans) == 1:
        os.environ.update(plans[0].env)
        return work(plans[0])
    return Supervisor(plans, work).run()


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = parse_options(sys.argv[1:] if argv is None else argv, os.environ)
    logging.getLogger().setLevel(options.log_level.upper())
    try:
        code = serve(options)
    except AxonError as error:  # bad bundle URI, unreadable axon.yaml: one line, then a failing exit
        logger.error("%s", error)
        announce_load_failure(error.message)
        code = 2
    sys.exit(code)
