"""In-flight windows, EMF records and the known-load signal; hand-computed values with a driven clock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from axon_serving.emf import emf_record, publisher_for
from axon_serving.metrics import InFlightWindow, Stats, Window

from axon.names import IN_FLIGHT_METRIC, METRIC_NAMESPACE, SIGNAL_KEY_ENV
from tests.unit.serving.conftest import client_for, make_model_dir, running_app


def test_window_averages_samples_and_counts_deltas() -> None:
    stats, window = Stats(), InFlightWindow(period=10)
    for second, value in zip(range(100, 110), [0, 1, 2, 3, 4, 4, 3, 2, 1, 0], strict=True):
        assert window.sample(second + 0.01, value, stats) is None
        stats.observe(200 if second % 2 else 503, 0.125)
    closed = window.sample(110.01, 5, stats)
    assert closed == Window(
        start=100, in_flight=2.0, samples=10, requests=10, errors_4xx=0, errors_5xx=5, latency_ms=125.0
    )
    stats.observe(404, 0.25)
    last = window.close(stats)
    assert last == Window(start=110, in_flight=5.0, samples=1, requests=1, errors_4xx=1, errors_5xx=0, latency_ms=250.0)
    assert window.close(stats) is None  # nothing sampled since


def test_windows_align_to_the_period_so_every_process_reports_the_same_instant() -> None:
    stats, early, late = Stats(), InFlightWindow(10), InFlightWindow(10)
    early.sample(1000.2, 1, stats)
    late.sample(1009.9, 3, stats)
    a, b = early.close(stats), late.close(stats)
    assert a is not None and b is not None and a.start == b.start == 1000
    assert a.latency_ms is None  # no requests: no latency datapoint


def test_emf_record_shape() -> None:
    window = Window(start=1000, in_flight=2.5, samples=10, requests=4, errors_4xx=1, errors_5xx=0, latency_ms=3.0)
    record = orjson.loads(emf_record(window, "iris", "v-abc"))
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert record["_aws"]["Timestamp"] == 1_000_000
    assert directive["Namespace"] == METRIC_NAMESPACE == "Axon"
    assert directive["Dimensions"] == [["Api", "Variant"]]
    assert {"Name": IN_FLIGHT_METRIC, "Unit": "Count", "StorageResolution": 1} in directive["Metrics"]
    assert (record["Api"], record["Variant"], record[IN_FLIGHT_METRIC], record["Latency"]) == ("iris", "v-abc", 2.5, 3)
    idle = Window(start=0, in_flight=0, samples=1, requests=0, errors_4xx=0, errors_5xx=0, latency_ms=None)
    assert "Latency" not in orjson.loads(emf_record(idle, "iris", "v-abc"))


def test_the_signal_key_goes_only_to_put_metric_data_never_to_the_log(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """The autoscaler reads only datapoints with the API's key; the EMF line (readable in the logs) lacks it."""
    sent: list[dict[str, Any]] = []

    class Client:
        def put_metric_data(self, **request: Any) -> None:
            sent.append(request)

    publisher = publisher_for({"AXON_API": "iris", "AXON_VARIANT": "AllTraffic", SIGNAL_KEY_ENV: "k" * 32})
    assert publisher is not None
    publisher._client = Client()
    publisher(Window(start=1000, in_flight=2.5, samples=10, requests=4, errors_4xx=0, errors_5xx=0, latency_ms=1.0))
    publisher.drain()
    [request] = sent
    assert request["Namespace"] == "Axon/Api/iris"
    assert request["MetricData"][0]["Dimensions"] == [
        {"Name": "Api", "Value": "iris"},
        {"Name": "Variant", "Value": "AllTraffic"},
        {"Name": "Key", "Value": "k" * 32},
    ]
    assert b"k" * 32 not in capsysbinary.readouterr().out


def test_workers_sum_to_the_replica_total() -> None:
    """Two workers, each one datapoint per period: CloudWatch's Sum is the replica's mean in-flight."""
    stats = Stats()
    workers = [InFlightWindow(10), InFlightWindow(10)]
    loads = [[2, 2, 2, 2, 2, 2, 2, 2, 2, 2], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]]
    for worker, values in zip(workers, loads, strict=True):
        for second, value in enumerate(values):
            worker.sample(50 + second, value, stats)
    datapoints = [w.close(stats) for w in workers]
    assert [d.start for d in datapoints if d] == [50, 50]  # one datapoint each, same period
    assert sum(d.in_flight for d in datapoints if d) == 2.5  # the autoscaler's Sum


def test_in_flight_under_a_known_load(tmp_path: Path) -> None:
    """Three requests held in a predictor with max_concurrency 1: one running + two queued = 3."""
    published: list[Window] = []
    model_dir = make_model_dir(tmp_path, "gated", {"serving": {"max_concurrency": 1}})

    async def scenario() -> str:
        async with running_app(model_dir) as app, client_for(app) as client:
            app.lifecycle.publish = published.append
            gate = app.runtime.handler.predict.__self__.gate  # type: ignore[union-attr]
            tasks = [asyncio.create_task(client.post("/invocations", json=n)) for n in range(3)]
            while app.runtime.in_flight < 3:
                await asyncio.sleep(0.01)
            for second in range(10):  # a driven clock: ten samples, then the next window closes it
                app.lifecycle.sample(2000 + second)
            text = (await client.get("/metrics")).text
            app.lifecycle.sample(2010)
            gate.set()
            await asyncio.gather(*tasks)
            return text

    text = asyncio.run(scenario())
    assert 'axon_in_flight{api="",variant="local",worker="0"} 3' in text
    assert published[0].start == 2000 and published[0].in_flight == 3.0 and published[0].samples == 10
