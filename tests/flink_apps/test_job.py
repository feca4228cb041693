"""One mini-cluster run of the whole job graph on a small bounded input (the real PyFlink job, local file I/O)."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.flink_apps.conftest import APP_DIR

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _reading(device: str, second: int, temperature: float) -> str:
    moment = (START + timedelta(seconds=second)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(
        {
            "device_id": device,
            "event_time": moment,
            "temperature_c": temperature,
            "humidity_pct": 40.0,
            "battery_v": 3.9,
            "status": "ok",
        }
    )


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Run the job once over: a steady device ending in a spike, a hot 2x2 block, an unknown device, a broken line."""
    root = tmp_path_factory.mktemp("job")
    (root / "input").mkdir()
    (root / "output").mkdir()
    inventory = ["device_id,site,model,installed_on,rack_row,rack_col", "steady,dc-1,TH-200,2025-01-08,5,5"]
    inventory += [f"hot-{r}{c},dc-1,TH-200,2025-01-08,{r},{c}" for r in range(2) for c in range(2)]
    (root / "devices.csv").write_text("\n".join(inventory) + "\n", encoding="utf-8")
    lines = []
    for second in range(60):
        lines.append(_reading("steady", second, 21.0 + 0.1 * (second % 3)))
        lines.append(_reading("stranger", second, 19.0))
        lines += [
            _reading(f"hot-{r}{c}", second, 40.0 + 0.1 * ((second + r + c) % 3)) for r in range(2) for c in range(2)
        ]
    lines.append(_reading("steady", 60, 45.0))
    lines.append('{"device_id": "steady", "event_time": ')
    (root / "input" / "readings.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    groups = {
        "app.source": {"local.path": str(root / "input"), "local.monitor": "false"},
        "app.sink": {"local.path": str(root / "output")},
        "app.reference": {"path": str(root / "devices.csv")},
        "app.time": {"watermark.lateness.seconds": "2", "metrics.window.seconds": "30"},
        "app.forest": {"trees": "10", "sample.size": "32", "shingle.size": "2", "warmup": "16", "threshold": "2.0"},
        "app.hotspots": {
            "window.size": "100",
            "scan.radius": "1.5",
            "min.points": "10",
            "density.threshold": "1.5",
            "evaluate.every": "20",
        },
    }
    properties = root / "application_properties.json"
    properties.write_text(
        json.dumps([{"PropertyGroupId": k, "PropertyMap": v} for k, v in groups.items()]), encoding="utf-8"
    )
    spec = importlib.util.spec_from_file_location("stream_analytics_main", APP_DIR / "main.py")
    assert spec
    assert spec.loader
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)

    assert main.main(["--properties", str(properties), "--local"]) == 0

    return {
        path.stem: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for path in (root / "output").glob("*.jsonl")
    }


def test_given_a_spike_after_a_steady_run_when_scored_then_it_is_the_anomaly_reported(
    outputs: dict[str, list[dict[str, Any]]],
) -> None:
    steady = [record for record in outputs["anomaly"] if record["device_id"] == "steady"]

    assert [record["temperature_c"] for record in steady] == [45.0]
    (spike,) = steady
    assert spike["event_time"] == "2026-11-26T08:01:00.000Z"
    assert spike["site"] == "dc-1"
    assert spike["known_device"] is True
    assert spike["anomaly_score"] >= spike["threshold"] == 2.0


def test_given_a_broken_line_when_parsed_then_it_reaches_the_error_output_with_its_reason(
    outputs: dict[str, list[dict[str, Any]]],
) -> None:
    (error,) = outputs["error"]

    assert error["reason"].startswith("malformed_record:invalid JSON")
    assert error["record"] == '{"device_id": "steady", "event_time": '


def test_given_windows_when_the_input_ends_then_metrics_are_final_and_append_only(
    outputs: dict[str, list[dict[str, Any]]],
) -> None:
    steady = sorted((r["window_start"], r["readings"]) for r in outputs["device_metrics"] if r["device_id"] == "steady")
    sites = {(r["site"], r["window_start"]): r for r in outputs["site_metrics"]}

    assert steady == [
        ("2026-11-26T08:00:00.000Z", 30),
        ("2026-11-26T08:00:30.000Z", 30),
        ("2026-11-26T08:01:00.000Z", 1),
    ]
    assert sites[("unknown", "2026-11-26T08:00:00.000Z")]["unknown_device_readings"] == 30
    assert sites[("dc-1", "2026-11-26T08:00:30.000Z")]["max_temperature_c"] == pytest.approx(40.2)
    assert {r["kind"] for r in outputs["device_metrics"]} == {"device_metrics"}


def test_given_a_hot_block_of_racks_when_scanned_then_a_hotspot_covers_it(
    outputs: dict[str, list[dict[str, Any]]],
) -> None:
    spots = [spot for record in outputs["hotspot"] for spot in record["hotspots"]]

    assert spots
    assert all(spot["minValues"][:2] == [0.0, 0.0] and spot["maxValues"][:2] == [1.0, 1.0] for spot in spots)
    assert all(spot["minValues"][2] >= 35.0 for spot in spots)
