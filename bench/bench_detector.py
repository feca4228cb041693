"""Random cut forest readings per second per core, at the job's default settings, for both implementations.

    .venv-flink/bin/python bench/bench_detector.py [--readings 5000] [--warm 2000] [--repeat 3]

Each figure is one device's detector (shingling, score from the past, then learn) over readings like the job's
(temperature, humidity, battery), measured after ``--warm`` readings so that the sample is full and the figure is
the steady state, not the fill. krcf runs single-threaded (``parallel_execution_enabled`` off), so the figure is per
core. CPU time of this process (``time.process_time``), best of ``--repeat``: other work on a shared machine counts as
little as possible. The fill phase (every reading inserted in every tree) is printed too: a new device pays it for
its first ``sample.size`` readings. Runs in .venv-flink (``make bench-flink``); prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flink_apps" / "stream_analytics"))

from stream_analytics.forest import DeviceDetector
from stream_analytics.settings import ForestSettings

GOAL = 5_000.0


def _readings(count: int, seed: int) -> list[list[float | None]]:
    rng = random.Random(seed)
    temperature, humidity = 22.0, 45.0
    out: list[list[float | None]] = []
    for _ in range(count):
        temperature += 0.1 * (22.0 - temperature) + rng.gauss(0.0, 0.3)
        humidity += 0.1 * (45.0 - humidity) + rng.gauss(0.0, 0.8)
        out.append([round(temperature, 2), round(humidity, 1), round(3.9 - rng.uniform(0, 0.002), 3)])
    return out


def measure(settings: ForestSettings, detector: str, warm: int, readings: int, repeat: int) -> tuple[float, float]:
    """(fill readings/s, steady readings/s), best of ``repeat``."""
    data = _readings(warm + readings, seed=1)
    fill_best = steady_best = 0.0
    for _ in range(repeat):
        device = DeviceDetector(settings, 3, detector=detector)
        start = time.process_time()
        for values in data[:warm]:
            device.process(values)
        middle = time.process_time()
        for values in data[warm:]:
            device.process(values)
        end = time.process_time()
        fill_best = max(fill_best, warm / max(middle - start, 1e-9))
        steady_best = max(steady_best, readings / max(end - middle, 1e-9))
    return fill_best, steady_best


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5000)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    defaults = ForestSettings()
    print(f"defaults: {defaults.trees} trees, sample {defaults.sample_size}, shingle {defaults.shingle_size}")
    cases = [
        ("krcf", defaults, args.readings, args.warm),
        ("krcf", replace(defaults, shingle_size=1), args.readings, args.warm),
        ("python-rcf", defaults, max(200, args.readings // 20), max(300, args.warm // 5)),
    ]
    for detector, settings, readings, warm in cases:
        fill, steady = measure(settings, detector, warm, readings, args.repeat)
        print(
            f"{detector:<10} shingle {settings.shingle_size}: steady {steady:>8,.0f} readings/s per core "
            f"({steady / GOAL:.2f}x the 5,000/s goal); first {warm} readings (sample filling) {fill:>8,.0f}/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
