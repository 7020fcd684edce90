"""Streaming responses: time to first byte against the whole non-streamed answer, and what streaming costs.

A fake token generator (``predictors/tokens.py``: ``tokens`` tokens, ``delay_ms`` before each) is served twice by
``axon-serve``: as a generator (streamed, one chunk per token) and as a plain ``predict`` returning the same bytes
made at the same pace. One client, requests one after another, medians over ``--runs``:

* paced (50 tokens x 20 ms): time to first byte streamed vs the full non-streamed response time;
* unpaced (``delay_ms`` 0, 50 and 500 tokens): streamed minus non-streamed total time, the cost of chunking
  (per token), with no model time to hide it;
* the same paced stream through the local stack's front door with boto3's ``invoke_endpoint_with_response_stream``
  (event-stream framing, as on SageMaker), unless ``--no-local-stack``.

    python -m bench.serving.streaming [--runs 20] [--write]   # --write: bench/serving/STREAMING.md
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.serving.report import machine
from bench.serving.targets import HERE, axon

RESULTS = HERE / "STREAMING.md"
BODY = b"{}"


def _time_one(client: httpx.Client, url: str) -> tuple[float, float, int]:
    """(time to first body byte, total time, bytes) of one request, in seconds."""
    started = time.perf_counter()
    first = 0.0
    size = 0
    with client.stream("POST", url, content=BODY, headers={"content-type": "application/json"}) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if chunk and not size:
                first = time.perf_counter() - started
            size += len(chunk)
    return first, time.perf_counter() - started, size


def measure(tokens: int, delay_ms: float, stream: bool, runs: int) -> dict[str, float]:
    """Median and p90 time to first byte and total time (ms) over ``runs`` requests, after 3 warm-up ones."""
    spec = {"predictor": {"config": {"tokens": tokens, "delay_ms": delay_ms, "stream": stream}}}
    with axon("tokens", spec) as url, httpx.Client(timeout=60) as client:
        for _ in range(3):
            _time_one(client, url)
        samples = [_time_one(client, url) for _ in range(runs)]
    firsts = sorted(s[0] * 1000 for s in samples)
    totals = sorted(s[1] * 1000 for s in samples)
    return {
        "ttfb_p50_ms": statistics.median(firsts),
        "ttfb_p90_ms": firsts[int(0.9 * (len(firsts) - 1))],
        "total_p50_ms": statistics.median(totals),
        "total_p90_ms": totals[int(0.9 * (len(totals) - 1))],
        "bytes": float(samples[0][2]),
    }


@contextlib.contextmanager
def _local_endpoint(tokens: int, delay_ms: float) -> Iterator[Any]:
    """A SageMaker endpoint on the local stack serving the streamed token generator; yields a boto3 runtime client."""
    import boto3
    from botocore.config import Config

    from axon_local.dataplane import FleetTimeouts, axon_serve_command
    from axon_local.frontdoor import FrontDoorOptions, serve

    with tempfile.TemporaryDirectory() as folder:
        options = FrontDoorOptions(
            cache_dir=Path(folder),
            serve_command=axon_serve_command,
            publish_in_flight=False,
            timeouts=FleetTimeouts(ping_seconds=30, drain_seconds=5, stop_grace_seconds=5),
        )
        door = serve(0, options)
        try:
            config = Config(retries={"max_attempts": 1})
            keys = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
            clients = {
                name: boto3.client(name, endpoint_url=door.url, config=config, **keys)  # type: ignore[call-overload]
                for name in ("s3", "sagemaker", "sagemaker-runtime")
            }
            spec = f"predictor: {{config: {{tokens: {tokens}, delay_ms: {delay_ms}, stream: true}}}}\n"
            clients["s3"].create_bucket(Bucket="axon-models")
            clients["s3"].put_object(Bucket="axon-models", Key="apis/talk/v1.tar.gz", Body=_bundle(spec))
            sm = clients["sagemaker"]
            image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/axon-serving:rt-local"
            sm.create_model(
                ModelName="talk",
                PrimaryContainer={"Image": image, "ModelDataUrl": "s3://axon-models/apis/talk/v1.tar.gz"},
            )
            variant = {
                "VariantName": "v",
                "ModelName": "talk",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
            sm.create_endpoint_config(EndpointConfigName="talk", ProductionVariants=[variant])
            sm.create_endpoint(EndpointName="axon-talk", EndpointConfigName="talk")
            sm.get_waiter("endpoint_in_service").wait(
                EndpointName="axon-talk", WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
            )
            yield clients["sagemaker-runtime"]
        finally:
            door.close()


def _bundle(spec: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (
            ("axon.yaml", spec.encode()),
            ("predictor.py", (HERE / "predictors/tokens.py").read_bytes()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def measure_local_stack(tokens: int, delay_ms: float, runs: int) -> dict[str, float]:
    """boto3's InvokeEndpointWithResponseStream through the local front door: first ``PayloadPart`` and last."""
    with _local_endpoint(tokens, delay_ms) as runtime:
        firsts: list[float] = []
        totals: list[float] = []
        for index in range(runs + 3):
            started = time.perf_counter()
            response = runtime.invoke_endpoint_with_response_stream(
                EndpointName="axon-talk", Body=BODY, ContentType="application/json"
            )
            first = 0.0
            for event in response["Body"]:
                if not first and event.get("PayloadPart"):
                    first = time.perf_counter() - started
            if index >= 3:
                firsts.append(first * 1000)
                totals.append((time.perf_counter() - started) * 1000)
    return {"ttfb_p50_ms": statistics.median(firsts), "total_p50_ms": statistics.median(totals)}


def run(runs: int, local_stack: bool) -> dict[str, Any]:
    paced = {"stream": measure(50, 20, True, runs), "whole": measure(50, 20, False, runs)}
    unpaced = {n: {"stream": measure(n, 0, True, runs), "whole": measure(n, 0, False, runs)} for n in (50, 500)}
    results: dict[str, Any] = {"machine": machine(), "runs": runs, "paced": paced, "unpaced": unpaced}
    if local_stack:
        results["local_stack"] = measure_local_stack(50, 20, runs)
    return results


def render(results: dict[str, Any]) -> str:
    m, paced = results["machine"], results["paced"]
    stream, whole = paced["stream"], paced["whole"]
    paced_extra = stream["total_p50_ms"] - whole["total_p50_ms"]
    lines = [
        "# Streaming benchmark",
        "",
        f"Regenerated by `python -m bench.serving.streaming --runs {results['runs']} --write` (do not edit by hand).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}; load average at start "
        f"{m['load_average_at_start']} (a shared machine). One client on loopback, requests one after another, "
        f"{results['runs']} measured after 3 warm-up ones; times in ms.",
        "",
        "## Time to first byte: 50 tokens, 20 ms each",
        "",
        "| answer | first byte p50 | first byte p90 | complete p50 | complete p90 |",
        "|---|---:|---:|---:|---:|",
        _row("streamed (generator)", stream),
        _row("whole (same tokens, one body)", whole),
        "",
        f"The first token reaches the client after {stream['ttfb_p50_ms']:.1f} ms instead of "
        f"{whole['ttfb_p50_ms']:.1f} ms ({whole['ttfb_p50_ms'] / stream['ttfb_p50_ms']:.0f}x sooner); the whole "
        f"answer takes {paced_extra:+.1f} ms streamed ({paced_extra * 1000 / 50:+.0f} µs per token, each token its "
        "own chunk and write here, since the model is slower than the connection).",
        "",
        "## Overhead: no model time (delay 0), streamed minus whole",
        "",
        "The generator outpaces the connection here, so tokens that are ready together share a write.",
        "",
        "| tokens | streamed complete p50 | whole complete p50 | difference | per token |",
        "|---:|---:|---:|---:|---:|",
    ]
    for count, pair in results["unpaced"].items():
        extra = pair["stream"]["total_p50_ms"] - pair["whole"]["total_p50_ms"]
        lines.append(
            f"| {count} | {pair['stream']['total_p50_ms']:.2f} | {pair['whole']['total_p50_ms']:.2f} | "
            f"{extra:+.2f} | {extra * 1000 / int(count):+.1f} µs |"
        )
    local = results.get("local_stack")
    if local:
        lines += [
            "",
            "## Through the local stack (boto3 invoke_endpoint_with_response_stream, event-stream framing)",
            "",
            f"50 tokens x 20 ms: first PayloadPart p50 {local['ttfb_p50_ms']:.1f} ms, last p50 "
            f"{local['total_p50_ms']:.1f} ms (front door relay + event-stream encoding + botocore's parser; "
            f"direct to axon-serve: {stream['ttfb_p50_ms']:.1f} / {stream['total_p50_ms']:.1f} ms).",
        ]
    return "\n".join(lines) + "\n"


def _row(name: str, row: dict[str, float]) -> str:
    return (
        f"| {name} | {row['ttfb_p50_ms']:.1f} | {row['ttfb_p90_ms']:.1f} | {row['total_p50_ms']:.1f} | "
        f"{row['total_p90_ms']:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    parser.add_argument("--no-local-stack", action="store_true", help="skip the boto3 run through the local stack")
    args = parser.parse_args()
    text = render(run(args.runs, not args.no_local_stack))
    if args.write:
        RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
