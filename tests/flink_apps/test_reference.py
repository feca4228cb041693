"""The device inventory: the Glue job's devices.csv, joined to each reading; unknown devices kept and flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from stream_analytics.parsing import Reading
from stream_analytics.reference import ReferenceError, enrich, parse_inventory, read_inventory

DEVICES = Path(__file__).resolve().parents[2] / "glue_jobs" / "curate_events" / "devices.csv"
READING = Reading("sensor-0001", 0, 21.0, 40.0, 3.9, "ok")


def test_given_the_glue_inventory_when_read_then_every_device_has_a_site_and_a_rack_position() -> None:
    devices = read_inventory(str(DEVICES))

    assert len(devices) == 20
    assert all(
        device.site and device.rack_row is not None and device.rack_col is not None for device in devices.values()
    )


def test_given_a_known_device_when_enriched_then_it_carries_site_model_and_position() -> None:
    devices = parse_inventory(
        "device_id,site,model,installed_on,rack_row,rack_col\nsensor-0001,dc-1,TH-200,2025-01-08,2,5\n"
    )

    enriched = enrich(READING, devices)

    assert (enriched.site, enriched.model, enriched.position, enriched.known_device) == (
        "dc-1",
        "TH-200",
        (5.0, 2.0),
        True,
    )


def test_given_an_unknown_device_when_enriched_then_it_is_kept_and_flagged() -> None:
    enriched = enrich(READING, parse_inventory("device_id,site\nsensor-0002,dc-1\n"))

    assert enriched.reading is READING
    assert (enriched.site, enriched.known_device, enriched.position) == ("unknown", False, None)


def test_given_an_inventory_without_positions_when_enriched_then_no_position() -> None:
    enriched = enrich(READING, parse_inventory("device_id,site,model\nsensor-0001,lab-1,TH-300\n"))

    assert enriched.known_device
    assert enriched.position is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("device_id,site\nsensor-0001,a\nsensor-0001,b\n", "inventory row 3: device_id 'sensor-0001' is listed twice"),
        ("device_id,model\nsensor-0001,a\n", "inventory: missing columns site"),
        ("device_id,site,rack_row\nsensor-0001,a,left\n", "inventory row 2: rack_row 'left' is not a number"),
        ("device_id,site\n,a\n", "inventory row 2: device_id is empty"),
    ],
)
def test_given_a_broken_inventory_when_parsed_then_one_line_names_the_row(text: str, message: str) -> None:
    with pytest.raises(ReferenceError, match=message):
        parse_inventory(text)
