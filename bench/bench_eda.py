"""Benchmark of the analysis and the model on curated rows: rows per second, peak memory, and how the cost scales.

    python -m bench.bench_eda                        # 100,000 and 1,000,000 rows
    python -m bench.bench_eda --sizes 50000 200000 --trees 50

Rows come from the producer's generator (20 devices, one reading a minute each, so 1 M rows are about 35 days),
shaped as the curated zone holds them (the device table joined, event_ts, event_date, temperature_f, partition
columns) in pandas: curation itself is bench_etl's subject. Each size runs in a fresh process, so its peak resident
memory (ru_maxrss) is its own. Two phases are timed: the analysis (kinds, pandas moves, distributions, correlation,
STL, figures) and the training (rolling features, label, three models, permutation importances, saving the model).
The last lines compare the per-row cost at the largest size with the smallest: near 1.0 is linear, below 1 a fixed
cost being amortised, above 1 worse than linear. Nothing is asserted: the numbers depend on the machine (and on what
else runs on it).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ml_jobs.eda import analysis, model
from ml_jobs.eda.features import lake_model_frame
from ml_jobs.eda.kinds import classify
from tools.producer import generate_readings

ROOT = Path(__file__).resolve().parent.parent
DEVICES_PATH = ROOT / "glue_jobs" / "curate_events" / "devices.csv"
DEVICES = 20
INTERVAL_SECONDS = 60.0
END = datetime(2026, 11, 23, tzinfo=UTC)


def curated_rows(rows: int, seed: int = 11) -> pd.DataFrame:
    """``rows`` generated readings shaped like the curated table."""
    readings = generate_readings(rows, DEVICES, random.Random(seed), end=END, interval_seconds=INTERVAL_SECONDS)
    frame = pd.DataFrame.from_records(
        [(r.device_id, r.event_time, r.temperature_c, r.humidity_pct, r.battery_v, r.status) for r in readings],
        columns=["device_id", "event_ts", "temperature_c", "humidity_pct", "battery_v", "status"],
    )
    frame["event_ts"] = pd.to_datetime(frame["event_ts"], utc=True).astype("datetime64[ns, UTC]")
    frame["event_time"] = frame["event_ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    frame["event_date"] = frame["event_ts"].dt.strftime("%Y-%m-%d")
    frame["temperature_f"] = frame["temperature_c"] * 9 / 5 + 32
    for name, pattern in (("year", "%Y"), ("month", "%m"), ("day", "%d"), ("hour", "%H")):
        frame[name] = frame["event_ts"].dt.strftime(pattern)
    devices = pd.read_csv(DEVICES_PATH)
    return frame.merge(devices, on="device_id", how="left").sort_values("event_ts", kind="stable", ignore_index=True)


def measure(rows: int, trees: int) -> dict[str, Any]:
    """Time the two phases on ``rows`` rows (in this process) and report its peak memory."""
    frame = curated_rows(rows)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        options = analysis.Options(source="bench", time="event_ts", partitions=("year", "month", "day", "hour"))
        started = time.perf_counter()
        outcome = analysis.run(frame, options, out, lambda _: None)
        analysed = time.perf_counter() - started
        started = time.perf_counter()
        data = lake_model_frame(frame, "event_ts")
        result = model.train_and_evaluate(
            data, classify(data.features), outcome.metrics["imputation"], seed=0, trees=trees
        )
        model.save_model(result, data, out, model_name="bench")
        trained = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": rows,
        "analysis_s": analysed,
        "training_s": trained,
        "peak_mib": peak_mib,
        "f1": result.metrics["random_forest"]["f1"],
        "roc_auc": result.metrics["random_forest"]["roc_auc"],
    }


def _child(rows: int, trees: int, queue: Any) -> None:
    queue.put(measure(rows, trees))


def run_isolated(rows: int, trees: int) -> dict[str, Any]:
    """``measure`` in a fresh process, so the peak memory is this size's alone."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(rows, trees, queue))
    process.start()
    figures: dict[str, Any] = queue.get()
    process.join()
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run every size and print a table, then the scaling ratios."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_eda", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="row counts")
    parser.add_argument("--trees", type=int, default=150, help="trees in the forest, as make eda (%(default)s)")
    args = parser.parse_args(argv)
    line = "{:>10} {:>11} {:>12} {:>11} {:>12} {:>9} {:>6} {:>8}"
    print(line.format("rows", "analysis s", "analysis r/s", "training s", "training r/s", "peak MiB", "F1", "ROC AUC"))
    results = []
    for rows in args.sizes:
        figures = run_isolated(rows, args.trees)
        results.append(figures)
        print(
            line.format(
                f"{rows:,}",
                f"{figures['analysis_s']:.1f}",
                f"{rows / figures['analysis_s']:,.0f}",
                f"{figures['training_s']:.1f}",
                f"{rows / figures['training_s']:,.0f}",
                f"{figures['peak_mib']:,.0f}",
                f"{figures['f1']:.3f}",
                f"{figures['roc_auc']:.3f}",
            ),
            flush=True,
        )
    small, large = results[0], results[-1]
    scale = large["rows"] / small["rows"]
    for phase in ("analysis_s", "training_s"):
        ratio = (large[phase] / large["rows"]) / (small[phase] / small["rows"])
        verdict = "at most linear" if ratio <= 1.1 else "worse than linear"
        print(
            f"{phase[:-2]}: per-row cost at {large['rows']:,} rows / at {small['rows']:,} rows = {ratio:.2f} "
            f"({verdict}; {scale:.0f}x the rows took {large[phase] / small[phase]:.1f}x the time)"
        )
    print(f"peak memory: {large['peak_mib'] / small['peak_mib']:.1f}x for {scale:.0f}x the rows")


if __name__ == "__main__":
    main()
