"""``make detect``: the job's detector offline over a CSV file, to look at scores and calibrate a threshold.

    make detect INPUT=readings.csv TIME=event_time VALUES=temperature_c,humidity_pct [KEY=device_id] OUTPUT=scored.csv

Every input row comes out, with ``anomaly_score`` (higher is more anomalous; 0 while its key's forest warms up) and
``warm``. Rows are scored per key in time order (a stable sort, so equal times keep the file's order), each from its
key's past only, with the job's forest settings (``--trees``, ``--sample-size``, ``--shingle-size``, ...). The output
keeps the input's row order. It prints a threshold suggestion: a high quantile of the warm scores.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

from stream_analytics.forest import DETECTOR, DeviceDetector
from stream_analytics.parsing import parse_event_time
from stream_analytics.settings import ForestSettings
from stream_analytics.thresholds import calibrate


class DetectError(ValueError):
    """The input cannot be scored as asked; the message is one line."""


def _float(text: str | None, column: str, line: int) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise DetectError(f"line {line}: column {column!r} has {text!r}, not a number") from None


def _time(text: str | None, column: str, line: int) -> float:
    value = (text or "").strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return float(parse_event_time(value))
    except ValueError:
        raise DetectError(f"line {line}: column {column!r} has {text!r}, not a number or ISO-8601 time") from None


def score_rows(
    rows: Sequence[dict[str, str]], time_column: str, values: Sequence[str], key: str | None, forest: ForestSettings
) -> list[tuple[float, bool]]:
    """(score, warm) for each row, in the rows' order; scored per key in time order from the past only."""
    times = [_time(row.get(time_column), time_column, index + 2) for index, row in enumerate(rows)]
    order = sorted(range(len(rows)), key=lambda index: times[index])
    detectors: dict[str, DeviceDetector] = {}
    results: list[tuple[float, bool]] = [(0.0, False)] * len(rows)
    for index in order:
        row = rows[index]
        name = row.get(key, "") if key else ""
        detector = detectors.get(name)
        if detector is None:
            detector = detectors[name] = DeviceDetector(forest, len(values), seed=len(detectors))
        point = [_float(row.get(column), column, index + 2) for column in values]
        scored = detector.process(point)
        results[index] = (scored.score, scored.warm)
    return results


def run(args: argparse.Namespace) -> int:
    """Read, score, write; returns the exit status."""
    values = [name.strip() for name in args.values.split(",") if name.strip()]
    if not values:
        raise DetectError("VALUES: name at least one numeric column, e.g. VALUES=temperature_c,humidity_pct")
    with open(args.input, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    wanted = [args.time, *values, *([args.key] if args.key else [])]
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise DetectError(f"{args.input}: no column {', '.join(map(repr, missing))}; the file has {', '.join(columns)}")
    forest = ForestSettings(
        trees=args.trees,
        sample_size=args.sample_size,
        shingle_size=args.shingle_size,
        time_decay=args.time_decay,
        warmup=args.warmup,
        history_size=max(args.sample_size, 1024),
    )
    results = score_rows(rows, args.time, values, args.key or None, forest)
    with open(args.output, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*columns, "anomaly_score", "warm"])
        writer.writeheader()
        for row, (score, warm) in zip(rows, results, strict=True):
            writer.writerow({**row, "anomaly_score": f"{score:.6f}", "warm": str(warm).lower()})
    warm_scores = [score for score, warm in results if warm]
    print(f"detect: scored {len(rows)} rows with {DETECTOR} (shingle {forest.shingle_size}) into {args.output}")
    if warm_scores:
        suggestion = calibrate(warm_scores)
        print(f"detect: suggested threshold (99.5th percentile of {len(warm_scores)} warm scores): {suggestion:.3f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(prog="make detect", description="Score a CSV file with a random cut forest.")
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--time", required=True, help="time column: ISO-8601 or a number")
    parser.add_argument("--values", required=True, help="comma-separated numeric columns")
    parser.add_argument("--key", default="", help="column whose values each get their own forest")
    parser.add_argument("--output", type=Path, required=True)
    defaults = ForestSettings()
    parser.add_argument("--trees", type=int, default=defaults.trees)
    parser.add_argument("--sample-size", type=int, default=defaults.sample_size)
    parser.add_argument("--shingle-size", type=int, default=defaults.shingle_size)
    parser.add_argument("--time-decay", type=float, default=defaults.time_decay)
    parser.add_argument("--warmup", type=int, default=defaults.warmup)
    args = parser.parse_args(argv)
    if not args.input.is_file():
        print(f"make detect: error: INPUT={args.input}: no such file", file=sys.stderr)
        return 2
    try:
        return run(args)
    except DetectError as error:
        print(f"make detect: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
