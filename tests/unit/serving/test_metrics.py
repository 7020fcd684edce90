"""In-flight windows, arrivals and service time, EMF records and the signal's PutMetricData; driven clocks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import botocore.session
import orjson
import pytest
from axon_serving.emf import emf_record, publisher_for, signal_request
from axon_serving.errors import QueueFullError
from axon_serving.lanes import Done, Lanes
from axon_serving.metrics import InFlightWindow, Service, ServiceMeter, Stats, Window
from axon_serving.scheduler import Scheduler, Strategy
from botocore.validate import validate_parameters

from axon.names import ARRIVALS_METRIC, IN_FLIGHT_METRIC, METRIC_NAMESPACE, SERVICE_TIME_METRIC, SIGNAL_KEY_ENV
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


class Clock:
    """A hand-driven clock for the service meter."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class HeldLanes(Lanes):
    """Starts nothing until the test finishes a call: the test decides how long each call runs."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[[Any], Any], Any, Done]] = []

    def run(self, call: Callable[[Any], Any], argument: Any, done: Done) -> None:
        self.calls.append((call, argument, done))

    def finish(self) -> None:
        call, argument, done = self.calls.pop(0)
        done(call(argument), None)

    def close(self) -> None:
        self.calls.clear()


def test_service_time_excludes_queueing_and_a_batch_costs_each_request_its_run_time() -> None:
    """Concurrency 1, batches of 2, queue 1 (capacity 3): the fourth request is refused but still arrived."""

    async def scenario() -> Service:
        clock, lanes = Clock(), HeldLanes()
        meter = ServiceMeter(clock)
        plan = Strategy(lambda payloads: list(payloads), False, 2)
        loop = asyncio.get_running_loop()
        scheduler = Scheduler(
            plan, lanes, loop=loop, concurrency=1, batch_timeout=0.0, queue_length=1, timeout=60.0, meter=meter
        )
        first = scheduler.submit("a")  # dequeued at once: a batch of one
        queued = [scheduler.submit("b"), scheduler.submit("c")]  # wait for the lane
        with pytest.raises(QueueFullError):
            scheduler.submit("d")
        clock.now = 5.0
        lanes.finish()  # "a" ran 5 s; "b" and "c" leave together now, after 5 s in the queue
        clock.now = 7.0
        lanes.finish()  # the batch ran 2 s
        assert [(await item.future).value for item in (first, *queued)] == ["a", "b", "c"]
        return meter.take()

    service = asyncio.run(scenario())
    # a: 5 s; b and c: 2 s each (their 5 s in the queue are not service). Mean 3 s, not (5 + 7 + 7) / 3.
    assert service == Service(arrivals=4, served=3, total=9.0, minimum=2.0, maximum=5.0)


def test_the_meter_starts_over_at_each_window() -> None:
    meter, stats, window = ServiceMeter(), Stats(), InFlightWindow(10)
    meter.arrived()
    meter.served(1, 0.5)
    window.sample(100, 1, stats, meter)
    meter.arrived()
    closed = window.sample(110, 0, stats, meter)
    assert closed is not None and closed.service == Service(2, 1, 0.5, 0.5, 0.5)
    last = window.close(stats, meter)
    assert last is not None and last.service == Service()  # nothing since: zero arrivals, no service statistics


def test_arrivals_and_service_time_under_a_known_load(tmp_path: Path) -> None:
    """A held request, one queued behind it and one refused (queue full): three arrivals, two served; the queued
    one's service time is its own short call, not the time it waited behind the held one."""
    published: list[Window] = []
    model_dir = make_model_dir(tmp_path, "gated", {"serving": {"max_concurrency": 1, "max_queue_length": 1}})

    async def scenario() -> list[int]:
        async with running_app(model_dir) as app, client_for(app) as client:
            app.lifecycle.publish = published.append
            app.lifecycle.sample(3000)
            gate = app.runtime.handler.predict.__self__.gate  # type: ignore[union-attr]
            gate.clear()
            tasks = [asyncio.create_task(client.post("/invocations", json=n)) for n in range(2)]
            while app.runtime.in_flight < 2:
                await asyncio.sleep(0.01)
            refused = await client.post("/invocations", json=2)
            await asyncio.sleep(0.3)  # the held call's service time, and the queued one's wait
            gate.set()
            replies = await asyncio.gather(*tasks)
            app.lifecycle.sample(3010)
            return [refused.status_code, *(reply.status_code for reply in replies)]

    assert asyncio.run(scenario()) == [503, 200, 200]
    # The lifespan's own once-a-second sampler may close windows too: add them up.
    served = [w.service for w in published if w.service.served]
    assert sum(w.service.arrivals for w in published) == 3 and sum(s.served for s in served) == 2
    assert max(s.maximum for s in served) >= 0.3  # the held call
    assert min(s.minimum for s in served) < 0.1  # the queued call, run at once when dequeued: its wait is not service
    assert sum(w.requests for w in published) == 3  # responses, the 503 included (EMF), as before


def test_signal_request_is_a_valid_put_metric_data_call() -> None:
    """The three datums, validated against botocore's model of PutMetricData (what the SDK would send)."""
    service = Service(arrivals=12, served=10, total=2.5, minimum=0.1, maximum=0.4)
    window = Window(
        1000, in_flight=2.5, samples=10, requests=9, errors_4xx=0, errors_5xx=0, latency_ms=1.0, service=service
    )
    request = signal_request(window, "iris", "AllTraffic", "k" * 32)
    shape = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData").input_shape
    assert shape is not None
    validate_parameters(request, shape)  # raises when invalid
    assert request["Namespace"] == "Axon/Api/iris"
    by_name = {datum["MetricName"]: datum for datum in request["MetricData"]}
    assert set(by_name) == {IN_FLIGHT_METRIC, ARRIVALS_METRIC, SERVICE_TIME_METRIC}
    assert by_name[ARRIVALS_METRIC]["Value"] == 12.0
    assert by_name[SERVICE_TIME_METRIC]["StatisticValues"] == {
        "SampleCount": 10.0,
        "Sum": 2.5,
        "Minimum": 0.1,
        "Maximum": 0.4,
    }
    for datum in request["MetricData"]:
        assert datum["StorageResolution"] == 1
        assert datum["Dimensions"][-1] == {"Name": "Key", "Value": "k" * 32}
        assert datum["Timestamp"].timestamp() == 1000
    idle = signal_request(replace(window, service=Service()), "iris", "AllTraffic", "k" * 32)
    validate_parameters(idle, shape)
    # Nothing served: no statistic set (CloudWatch needs samples), but zero arrivals are data.
    assert [(d["MetricName"], d.get("Value")) for d in idle["MetricData"]] == [
        (IN_FLIGHT_METRIC, 2.5),
        (ARRIVALS_METRIC, 0.0),
    ]
