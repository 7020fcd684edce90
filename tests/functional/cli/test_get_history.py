"""``axon get`` and ``axon history``: the JSON fields the issue fixes, from a registry a rollout wrote."""

import json

from axon.cli.stats import ApiStats
from axon.registry import DynamoDBRegistry, VersionStatus
from tests.functional.cli.conftest import Cli, one_error_line
from tests.functional.cli.rollouts import failed, upload, went_live


def _iris_canary(registry: DynamoDBRegistry) -> None:
    """v1 live, v2 failed validation, v3 taking 10% of traffic."""
    went_live(registry, "iris", upload(registry, "iris", b"one"))
    failed(registry, "iris", upload(registry, "iris", b"two"), "bundle.path_traversal", "member ../x leaves it")
    v3 = upload(registry, "iris", b"three")
    clock, registry.clock = registry.clock, lambda: 1_700_000_000
    registry.acquire_lease("iris", "exec-3", v3, 3600)
    registry.clock = clock
    registry.set_status("iris", v3, VersionStatus.SHIFTING, "10% of traffic on v3", traffic_percent=10)


def test_get_one_api_as_json(cli: Cli, registry: DynamoDBRegistry) -> None:
    _iris_canary(registry)
    cli.stats.stats["iris"] = ApiStats(in_flight=1.5, p50_ms=12.0, p99_ms=80.5, count_2xx=90, count_4xx=3, count_5xx=0)
    result = cli("get", "iris", "-o", "json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    last_update = view.pop("last_update")
    assert last_update == registry.get_version("iris", 3).updated_at
    assert view == {
        "name": "iris",
        "status": "updating",
        "live_version": "v1",
        "rolling_version": "v3",
        "traffic": {"v3": 10, "v1": 90},
        # moto has no endpoint axon-iris: no replica of any version
        "replicas": {"requested": 0, "ready": 0, "up_to_date": 0, "stale": 0, "by_version": {}},
        "endpoint": "axon-iris",
        "url": "http://127.0.0.1:4566/endpoints/axon-iris/invocations",
        "platform": "sagemaker",
        "last_error": {"version": "v2", "code": "bundle.path_traversal", "message": "member ../x leaves it"},
        "in_flight": 1.5,
        "latency_ms": {"p50": 12.0, "p99": 80.5},
        "requests": {"2xx": 90, "4xx": 3, "5xx": 0},
    }


def test_get_all_lists_every_api_and_asks_stats_once(cli: Cli, registry: DynamoDBRegistry) -> None:
    _iris_canary(registry)
    failed(registry, "fraud", upload(registry, "fraud"), "image.build_failed", "pip failed")
    result = cli("get", "-o", "json")
    assert result.exit_code == 0, result.output
    views = json.loads(result.stdout)
    assert [(v["name"], v["status"], v["in_flight"]) for v in views] == [
        ("fraud", "failed", None),
        ("iris", "updating", None),
    ]
    assert cli.stats.asked == [["fraud", "iris"]]


def test_get_tables_show_dashes_for_missing_stats(cli: Cli, registry: DynamoDBRegistry) -> None:
    _iris_canary(registry)
    listing = cli("get")
    assert listing.exit_code == 0, listing.output
    assert "iris" in listing.stdout and "updating" in listing.stdout and "v3:10% v1:90%" in listing.stdout
    detail = cli("get", "iris")
    assert detail.exit_code == 0, detail.output
    assert "bundle.path_traversal" in detail.stdout and "axon-iris" in detail.stdout


def test_get_with_no_apis_says_how_to_start(cli: Cli) -> None:
    result = cli("get")
    assert result.exit_code == 0 and "no APIs yet" in result.stdout
    assert json.loads(cli("get", "-o", "json").stdout) == []


def test_get_an_unknown_api_is_one_error_line(cli: Cli) -> None:
    assert one_error_line(cli("get", "nope")) == "error: cli.not_found: no API named 'nope' (see `axon get`)"


def test_history_json_has_the_registry_fields(cli: Cli, registry: DynamoDBRegistry) -> None:
    _iris_canary(registry)
    result = cli("history", "iris", "-o", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [v.history_view() for v in registry.list_versions("iris")]
    assert [(r["version"], r["status"], r["traffic_percent"]) for r in rows] == [
        ("v1", "live", 100),
        ("v2", "failed", 0),
        ("v3", "shifting", 10),
    ]
    assert set(rows[0]) >= {
        "version",
        "status",
        "reason",
        "s3_uri",
        "image_uri",
        "created_at",
        "updated_at",
        "traffic_percent",
    }
    assert rows[1]["reason"] == {"code": "bundle.path_traversal", "message": "member ../x leaves it"}


def test_history_of_one_version_includes_its_timeline(cli: Cli, registry: DynamoDBRegistry) -> None:
    _iris_canary(registry)
    result = cli("history", "iris", "--version", "v3", "-o", "json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["version"] == "v3"
    assert [e["kind"] for e in view["timeline"]] == ["uploaded", "status"]
    assert view["timeline"][1]["data"] == {"status": "shifting"}


def test_history_table_shows_the_newest_timeline(cli: Cli, registry: DynamoDBRegistry) -> None:
    _iris_canary(registry)
    result = cli("history", "iris")
    assert result.exit_code == 0, result.output
    assert "timeline of v3" in result.stdout and "10% of traffic on v3" in result.stdout


def test_history_of_an_unknown_version_is_an_error(cli: Cli, registry: DynamoDBRegistry) -> None:
    upload(registry, "iris")
    assert "iris has no version 'v9'" in one_error_line(cli("history", "iris", "--version", "v9"))
