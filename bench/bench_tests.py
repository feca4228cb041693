"""Time `make test` part by part, with the CPU seconds each used and each xdist worker's share of pytest.

    make bench-tests                                # or: .venv/bin/python -m bench.bench_tests [--runs 2]
    .venv/bin/python -m bench.bench_tests --parts unit flink-test   # each suite alone

`make test` warm should take at most a minute on 2 cores. On a shared machine the wall-clock seconds depend on the
other work; the CPU seconds (user + sys of every process a part ran) depend far less, and so does each pytest
worker's busy time (the sum of its tests' setup, call and teardown). The busiest worker is pytest's critical path:
it cannot finish sooner however idle the machine. Prints figures only (the load average too); asserts nothing.
Run it warm (after `make test` once), as CI's second run would be.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.timing import Timing, children_cpu
from bench.worker_times import OUTPUT_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
# What `make test` runs, in its order: its last part, `test-suites`, runs the two test suites side by side (`both`).
PARTS = {
    "lint": ["lint"],
    "typecheck": ["typecheck"],
    "both": ["test-suites"],
    "unit": ["unit"],
    "flink-test": ["flink-test"],
}
DEFAULT_PARTS = ("lint", "typecheck", "both")


def run_part(part: str, times_file: Path) -> tuple[Timing, float]:
    """`make <part>` (`both`: unit and flink-test side by side), with the worker-times plugin loaded into pytest's
    unit tests, and when it started (seconds since the epoch); exits on failure."""
    env = dict(os.environ)
    if part in ("unit", "both"):
        env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} -p bench.worker_times".strip()
        env[OUTPUT_VARIABLE] = str(times_file)
    cpu, start, started = children_cpu(), time.perf_counter(), time.time()
    result = subprocess.run(  # noqa: S603 - fixed argv
        ["make", *PARTS[part]],  # noqa: S607 - make from PATH, as a user runs it
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    timing = Timing(wall=time.perf_counter() - start, cpu=children_cpu() - cpu)
    if result.returncode != 0:
        raise SystemExit(f"error: make {part} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return timing, started


def worker_report(times_file: Path, started: float) -> list[str]:
    """Each worker's busy seconds, split by xdist group (the `@group` of the node id), busiest worker first, and when
    it started its first test and ended its last, counted from the start of the make command: before the first,
    the workers start and collect; after the last, the session's fixtures are torn down."""
    phases: list[list[object]] = json.loads(times_file.read_text(encoding="utf-8"))
    busy: defaultdict[str, float] = defaultdict(float)
    groups: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    spans: dict[str, tuple[float, float]] = {}
    for worker, node_id, _phase, seconds, start, stop in phases:
        name = str(node_id).rsplit("::", 1)[-1]
        group = name.rsplit("@", 1)[1] if "@" in name and name.rfind("@") > name.rfind("]") else "(no group)"
        busy[str(worker)] += float(str(seconds))
        groups[str(worker)][group] += float(str(seconds))
        first, last = spans.get(str(worker), (float("inf"), 0.0))
        spans[str(worker)] = (min(first, float(str(start))), max(last, float(str(stop))))
    lines = []
    for worker, seconds in sorted(busy.items(), key=lambda item: -item[1]):
        shares = sorted(groups[worker].items(), key=lambda item: -item[1])
        split = ", ".join(f"{group} {share:.1f} s" for group, share in shares)
        first, last = (moment - started for moment in spans[worker])
        lines.append(f"    {worker}: busy {seconds:.1f} s ({split}); tests from {first:.1f} s to {last:.1f} s")
    return lines


def main(argv: list[str]) -> int:
    """Run the parts `--runs` times and print each run's figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of the whole sequence (default 1)")
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=PARTS,
        default=list(DEFAULT_PARTS),
        help="make targets to time; both: unit and flink-test side by side, as `make test` runs them (the default)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give 1 or more")
    with tempfile.TemporaryDirectory() as tmp:
        times_file = Path(tmp) / "worker-times.json"
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            runs = {part: run_part(part, times_file) for part in args.parts}
            timings = {part: timing for part, (timing, _) in runs.items()}
            wall, cpu = sum(t.wall for t in timings.values()), sum(t.cpu for t in timings.values())
            print(f"run {run} (load average {load:.1f} before, {os.getloadavg()[0]:.1f} after):")
            for part, timing in timings.items():
                label = "unit + flink-test" if part == "both" else part
                print(f"  make {label:<17} {timing.wall:7.1f} s wall  {timing.cpu:7.1f} s CPU")
                if part in ("unit", "both") and times_file.exists():
                    print("\n".join(worker_report(times_file, started=runs[part][1])))
            print(f"  {'total':<22} {wall:7.1f} s wall  {cpu:7.1f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
