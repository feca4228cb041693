"""The labelled generator and the local run's scoring of what the job found against what was injected."""

from __future__ import annotations

import json

from stream_analytics.generator import UNKNOWN_DEVICE, generate, inventory_csv
from stream_analytics.local_run import evaluate
from stream_analytics.parsing import Reading, parse_record
from stream_analytics.reference import parse_inventory


def test_given_a_grid_when_generated_then_labels_cover_every_kind_and_the_inventory_places_every_rack() -> None:
    generated = generate(4, 4, 200, anomalies_from=60, hotspot_from=80, hotspot_step=30)

    kinds = {episode.kind for episode in generated.episodes}
    assert {"spike", "hotspot"} <= kinds
    assert len(generated.lines) == len(generated.keys) == 17 * 200
    devices = parse_inventory(inventory_csv(4, 4))
    assert len(devices) == 16
    assert UNKNOWN_DEVICE not in devices
    parsed = [parse_record(line) for line in generated.lines]
    assert sum(not isinstance(item, Reading) for item in parsed) == generated.malformed


def test_given_flags_when_evaluated_then_precision_counts_readings_and_recall_counts_episodes() -> None:
    generated = generate(4, 4, 200, anomalies_from=60, hotspot_from=80, hotspot_step=30, bad_fraction=0.0)
    spike = next(episode for episode in generated.episodes if episode.kind == "spike")
    moments = {(device, round_): moment for device, moment, round_ in generated.keys}
    hit = {"device_id": spike.device_id, "event_time": moments[(spike.device_id, spike.first_round)]}
    miss = {"device_id": "rack-0001", "event_time": moments[("rack-0001", 10)]}

    result = evaluate(generated, [hit, miss], shingle=4)

    assert result["precision"] == 0.5
    found, total = result["recall_spike"]
    assert found == 1
    assert total == sum(episode.kind == "spike" for episode in generated.episodes)
    assert json.loads(generated.lines[0])["device_id"] == "rack-0001"
