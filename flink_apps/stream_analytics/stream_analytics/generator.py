"""Labelled readings for local runs: a rack grid of devices with injected anomalies and a moving hotspot.

Every device reports once per round (one second of event time). Injected, with ground truth:
- ``spike``: one reading 15-25 °C above the device's usual temperature;
- ``drift``: the temperature climbs 0.4 °C a reading for 30 readings;
- ``stuck``: the sensor repeats one value (all three readings) for 40 readings;
- ``hotspot``: a 3x3 block of racks runs 18 °C hot, moving one column to the right every ``hotspot_step`` rounds.
Plus one device missing from the inventory (scored, flagged unknown) and a share of malformed records (error output).
Records are encoded like ``tools/producer.py`` encodes them (JSON, the lake's event schema).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SITE = "dc-1"
UNKNOWN_DEVICE = "sensor-9999"
HOT_OFFSET = 18.0


@dataclass(frozen=True, slots=True)
class Episode:
    """One injected anomaly: its kind, device and the rounds it spans (inclusive)."""

    kind: str
    device_id: str
    first_round: int
    last_round: int


@dataclass(slots=True)
class Generated:
    """The encoded records in order, with each record's device and round, and the ground truth."""

    lines: list[str] = field(default_factory=list)
    keys: list[tuple[str, str, int]] = field(default_factory=list)  # device, event_time, round
    episodes: list[Episode] = field(default_factory=list)
    hotspot_cells: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    malformed: int = 0


def device_id(row: int, col: int, cols: int) -> str:
    """The id of the device at (row, col)."""
    return f"rack-{row * cols + col + 1:04d}"


def inventory_csv(rows: int, cols: int) -> str:
    """The inventory for the grid, in devices.csv's columns."""
    lines = ["device_id,site,model,installed_on,rack_row,rack_col"]
    for row in range(rows):
        for col in range(cols):
            lines.append(f"{device_id(row, col, cols)},{SITE},TH-200,2025-01-08,{row},{col}")
    return "\n".join(lines) + "\n"


def _plan(rng: random.Random, devices: list[str], rounds: int, start: int) -> list[Episode]:
    episodes: list[Episode] = []
    busy: dict[str, int] = {}
    for kind, length, count in (("spike", 1, 12), ("drift", 30, 4), ("stuck", 40, 4)):
        for _ in range(count):
            device = rng.choice(devices)
            first = rng.randrange(start, rounds - length - 10)
            if busy.get(device, -100) > first - 60:
                continue
            busy[device] = first + length
            episodes.append(Episode(kind, device, first, first + length - 1))
    return episodes


def generate(
    rows: int = 8,
    cols: int = 8,
    rounds: int = 600,
    *,
    seed: int = 7,
    anomalies_from: int = 320,
    hotspot_from: int = 360,
    hotspot_step: int = 40,
    bad_fraction: float = 0.005,
    end: datetime | None = None,
) -> Generated:
    """Readings of a ``rows`` x ``cols`` grid for ``rounds`` rounds, anomalies after ``anomalies_from``."""
    rng = random.Random(seed)  # noqa: S311 (sample data, reproducible by seed)
    ids = [device_id(r, c, cols) for r in range(rows) for c in range(cols)]
    usual = {device: rng.uniform(20.0, 26.0) for device in [*ids, UNKNOWN_DEVICE]}
    temperature = dict(usual)
    usual_humidity = {device: rng.uniform(35.0, 60.0) for device in usual}
    humidity = dict(usual_humidity)
    episodes = _plan(rng, ids, rounds, anomalies_from)
    by_device = {episode.device_id: episode for episode in episodes}
    start = (end or datetime.now(UTC)) - timedelta(seconds=rounds)
    out = Generated(episodes=list(episodes))
    for round_ in range(rounds):
        hot = _hot_cells(round_, rows, cols, hotspot_from, hotspot_step)
        if hot:
            out.hotspot_cells[round_] = hot
        for index, device in enumerate([*ids, UNKNOWN_DEVICE]):
            temperature[device] += 0.1 * (usual[device] - temperature[device]) + rng.gauss(0.0, 0.3)
            humidity[device] += 0.1 * (usual_humidity[device] - humidity[device]) + rng.gauss(0.0, 0.5)
            value, wet = temperature[device], humidity[device]
            episode = by_device.get(device)
            if episode and episode.first_round <= round_ <= episode.last_round:
                step = round_ - episode.first_round
                if episode.kind == "spike":
                    value += rng.uniform(15.0, 25.0)
                elif episode.kind == "drift":
                    value += 0.4 * (step + 1)
                else:
                    value, wet = round(usual[device], 2), 47.0
            row, col = divmod(index, cols)
            if index < len(ids) and (row, col) in hot:
                value += HOT_OFFSET
            moment = start + timedelta(seconds=round_, milliseconds=rng.uniform(0, 500))
            stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            document: dict[str, object] = {
                "device_id": device,
                "event_time": stamp,
                "temperature_c": round(value, 2),
                "humidity_pct": round(min(100.0, max(0.0, wet)), 1),
                "battery_v": 3.9,
                "status": "ok",
            }
            line = json.dumps(document, separators=(",", ":"))
            if rng.random() < bad_fraction:
                line = line[: len(line) // 2]
                out.malformed += 1
            out.lines.append(line)
            out.keys.append((device, stamp, round_))
    out.episodes.extend(_hotspot_episodes(out.hotspot_cells, cols))
    return out


def _hot_cells(round_: int, rows: int, cols: int, first: int, step: int) -> set[tuple[int, int]]:
    if round_ < first:
        return set()
    left = ((round_ - first) // step) % max(1, cols - 2)
    top = max(0, rows // 2 - 1)
    return {(top + dr, left + dc) for dr in range(3) for dc in range(3) if top + dr < rows and left + dc < cols}


def _hotspot_episodes(cells: dict[int, set[tuple[int, int]]], cols: int) -> Iterator[Episode]:
    # Each device's stretch inside the hotspot is an episode: its onset is anomalous for its own forest.
    spans: dict[str, list[int]] = {}
    for round_, hot in sorted(cells.items()):
        for row, col in hot:
            spans.setdefault(device_id(row, col, cols), []).append(round_)
    for device, rounds in spans.items():
        first = previous = rounds[0]
        for round_ in rounds[1:]:
            if round_ != previous + 1:
                yield Episode("hotspot", device, first, previous)
                first = round_
            previous = round_
        yield Episode("hotspot", device, first, previous)
