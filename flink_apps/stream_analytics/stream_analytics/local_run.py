"""``make analytics-local``: labelled readings through the real Flink job on a local mini-cluster.

The job reads a watched directory (the same records the ingest stream carries, one per line) and writes every
output kind to ``<out>/output/<kind>.jsonl``. The Kinesis connector for Flink 2.x is not used locally: the Maven
registry this project's machines reach does not serve it (see docs/analytics.md), so the local source is Flink's
file source with the same record format. The runner writes readings at a steady rate, tails the outputs, and prints
the anomalies and hotspots found, precision and recall against what was injected, throughput and put-to-output
latency. It starts the job as a child process and stops it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from stream_analytics.generator import SITE, UNKNOWN_DEVICE, Episode, Generated, generate, inventory_csv
from stream_analytics.settings import ForestSettings
from stream_analytics.thresholds import precision_recall

APP_DIR = Path(__file__).resolve().parent.parent
SENTINEL_TEMPERATURE = 149.0
LATENESS_SECONDS = 5


@dataclass(slots=True)
class Outputs:
    """What the runner has read from the job's output files, and when it saw each line."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seen_at: dict[str, list[float]] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)

    def poll(self, directory: Path) -> None:
        """Read whatever was appended since the last poll."""
        now = time.monotonic()
        for path in directory.glob("*.jsonl"):
            kind = path.stem
            with path.open(encoding="utf-8") as handle:
                handle.seek(self.offsets.get(kind, 0))
                text = handle.read()
                complete = text[: text.rfind("\n") + 1]
                self.offsets[kind] = self.offsets.get(kind, 0) + len(complete.encode("utf-8"))
            for line in complete.splitlines():
                self.records.setdefault(kind, []).append(json.loads(line))
                self.seen_at.setdefault(kind, []).append(now)


def properties(out: Path, forest: ForestSettings) -> list[dict[str, Any]]:
    """Property groups of a local run."""
    return [
        {"PropertyGroupId": "app.source", "PropertyMap": {"local.path": str(out / "input")}},
        {"PropertyGroupId": "app.sink", "PropertyMap": {"local.path": str(out / "output")}},
        {"PropertyGroupId": "app.reference", "PropertyMap": {"path": str(out / "devices.csv")}},
        {
            "PropertyGroupId": "app.time",
            "PropertyMap": {"watermark.lateness.seconds": str(LATENESS_SECONDS), "metrics.window.seconds": "60"},
        },
        {
            "PropertyGroupId": "app.forest",
            "PropertyMap": {"threshold": str(forest.threshold), "shingle.size": str(forest.shingle_size)},
        },
        {"PropertyGroupId": "app.hotspots", "PropertyMap": {"window.size": "500", "min.points": "20"}},
    ]


def _write_batch(directory: Path, number: int, lines: list[str]) -> None:
    # Written under a hidden name and renamed: the file source skips names starting with "." and never sees half.
    hidden = directory / f".batch-{number:06d}.jsonl"
    hidden.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hidden.rename(directory / f"batch-{number:06d}.jsonl")


def _wait(outputs: Outputs, directory: Path, job: subprocess.Popen[bytes], predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outputs.poll(directory)
        if predicate():
            return True
        if job.poll() is not None:
            raise SystemExit(f"analytics-local: the Flink job exited early with status {job.returncode}")
        time.sleep(0.02)
    return False


def feed(
    generated: Generated, directory: Path, rate: float, answered: Callable[[str], bool], batch: int = 250
) -> tuple[list[float], int]:
    """Write the lines in files of ``batch``, at most ``rate`` readings/s; returns put times and files written.

    Each file ends with a probe line the job sends to its error output; the next file is written once that probe
    came back. Flink's file source does not keep files in order when several wait to be read (the stream keeps each
    device's order per shard, so the job relies on it within the watermark's lateness): one file at a time keeps
    the local run's order the stream's.
    """
    put_at: list[float] = []
    started = time.monotonic()
    files = 0
    for first in range(0, len(generated.lines), batch):
        lines = generated.lines[first : first + batch]
        pause = started + first / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        files += 1
        probe = f"probe: batch {files}"
        now = time.monotonic()
        _write_batch(directory, files, [*lines, probe])
        put_at.extend([now] * len(lines))
        if not answered(probe):
            raise SystemExit(f"analytics-local: the job did not read batch {files} in time; see its log")
    return put_at, files


def _matches(episode: Episode, device: str, round_: int, tail: int) -> bool:
    return device == episode.device_id and episode.first_round <= round_ <= episode.last_round + tail


def evaluate(generated: Generated, anomalies: list[dict[str, Any]], shingle: int) -> dict[str, Any]:
    """Precision (flagged readings inside an injected episode) and recall (episodes with a flagged reading)."""
    rounds = {(device, moment): round_ for device, moment, round_ in generated.keys}
    flagged = {
        (a["device_id"], rounds[(a["device_id"], a["event_time"])])
        for a in anomalies
        if (a["device_id"], a["event_time"]) in rounds
    }
    # A shingle keeps an anomaly in view for `shingle` readings after it ends: those flags are still true ones.
    tail = shingle
    true_flags = {f for f in flagged if any(_matches(e, f[0], f[1], tail) for e in generated.episodes)}
    result: dict[str, Any] = {}
    precision, _ = precision_recall(flagged, true_flags) if flagged else (1.0, 1.0)
    result["precision"] = precision
    for kind in ("spike", "drift", "stuck", "hotspot"):
        episodes = [e for e in generated.episodes if e.kind == kind]
        found = [e for e in episodes if any(_matches(e, d, r, tail) for d, r in flagged)]
        result[f"recall_{kind}"] = (len(found), len(episodes))
    return result


def _hotspot_hits(generated: Generated, hotspots: list[dict[str, Any]]) -> tuple[int, int]:
    """Hotspot records whose bounds cover a cell that was hot at that time, of all hotspot records."""
    hits = 0
    for record in hotspots:
        covered = False
        for spot in record["hotspots"]:
            low, high = spot["minValues"], spot["maxValues"]
            cells = set().union(*generated.hotspot_cells.values()) if generated.hotspot_cells else set()
            covered |= any(low[0] <= col <= high[0] and low[1] <= row <= high[1] for row, col in cells)
        hits += covered
    return hits, len(hotspots)


def _describe(spot: dict[str, Any]) -> str:
    low, high = spot["minValues"], spot["maxValues"]
    return (
        f"density {spot['density']:.1f} cols {low[0]:.0f}-{high[0]:.0f} rows {low[1]:.0f}-{high[1]:.0f} "
        f"temp {low[2]:.1f}-{high[2]:.1f}"
    )


def report(generated: Generated, outputs: Outputs, put_at: list[float], shingle: int, elapsed: float) -> None:
    """Print what the job found and how well."""
    counts = Counter({kind: len(items) for kind, items in outputs.records.items()})
    print(f"\noutputs by kind: {dict(sorted(counts.items()))}")
    anomalies = [a for a in outputs.records.get("anomaly", []) if a["temperature_c"] != SENTINEL_TEMPERATURE]
    print(f"\nanomalies ({len(anomalies)}), first 12:")
    for a in anomalies[:12]:
        print(
            f"  {a['event_time']} {a['device_id']:<12} score {a['anomaly_score']:6.2f} "
            f"temp {a['temperature_c']} known={a['known_device']}"
        )
    hotspots = outputs.records.get("hotspot", [])
    print(f"\nhotspot records ({len(hotspots)}), first 6:")
    for h in hotspots[:6]:
        spots = ", ".join(_describe(spot) for spot in h["hotspots"])
        print(f"  {h['event_time']} {h['site']}: {spots}")
    quality = evaluate(generated, anomalies, shingle)
    print(f"\nprecision (flagged readings inside an injected episode): {quality['precision']:.2f}")
    for kind in ("spike", "drift", "stuck", "hotspot"):
        found, total = quality[f"recall_{kind}"]
        print(f"recall {kind:<8} {found}/{total} episodes" + (f" ({found / total:.2f})" if total else ""))
    hits, total = _hotspot_hits(generated, hotspots)
    print(f"hotspot records covering an injected hot rack: {hits}/{total}")
    errors = outputs.records.get("error", [])
    probes = sum(e["record"].startswith("probe:") for e in errors)
    print(f"error records: {len(errors) - probes} (malformed injected: {generated.malformed}), plus {probes} probes")
    unknown = [a for a in outputs.records.get("anomaly", []) if a["device_id"] == UNKNOWN_DEVICE]
    print(f"readings of the device missing from the inventory that were flagged: {len(unknown)} (known_device=false)")
    _latency(generated, outputs, put_at, elapsed)


def _latency(generated: Generated, outputs: Outputs, put_at: list[float], elapsed: float) -> None:
    index = {(device, moment): position for position, (device, moment, _) in enumerate(generated.keys)}
    delays = []
    for record, seen in zip(outputs.records.get("anomaly", []), outputs.seen_at.get("anomaly", []), strict=True):
        position = index.get((record["device_id"], record["event_time"]))
        if position is not None:
            delays.append((seen - put_at[position]) * 1000)
    print(
        f"\nend to end: {len(generated.lines)} readings in {elapsed:.1f} s = "
        f"{len(generated.lines) / elapsed:,.0f} readings/s"
    )
    if delays:
        delays.sort()
        p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))]
        print(
            f"put-to-anomaly latency over {len(delays)} anomalies: "
            f"p50 {statistics.median(delays):.0f} ms, p99 {p99:.0f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the demonstration; returns the exit status."""
    parser = argparse.ArgumentParser(prog="analytics-local", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/analytics-local"))
    parser.add_argument("--grid", type=int, default=6, help="racks per side of the site's grid (%(default)s)")
    parser.add_argument("--rounds", type=int, default=420, help="readings per device (%(default)s)")
    parser.add_argument("--rate", type=float, default=5000.0, help="most readings written per second (%(default)s)")
    parser.add_argument("--batch", type=int, default=250, help="readings per file (%(default)s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the job (%(default)s)")
    args = parser.parse_args(argv)
    # A runner stopped with SIGTERM (a timeout, an impatient user) still stops its job: finally blocks run on exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out: Path = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    for name in ("input", "output"):
        (out / name).mkdir(parents=True)
    forest = ForestSettings()
    (out / "devices.csv").write_text(inventory_csv(args.grid, args.grid), encoding="utf-8")
    (out / "application_properties.json").write_text(json.dumps(properties(out, forest), indent=2), encoding="utf-8")
    # Anomalies start once every forest is warm (warm-up plus a shingle), the hotspot a little later.
    first = forest.warmup + forest.shingle_size + 20
    generated = generate(
        args.grid, args.grid, args.rounds, anomalies_from=first, hotspot_from=first + 20, hotspot_step=25
    )
    print(
        f"generated {len(generated.lines)} readings at site {SITE}: "
        f"{len(generated.episodes)} labelled episodes, {generated.malformed} malformed"
    )
    command = [
        sys.executable,
        str(APP_DIR / "main.py"),
        "--properties",
        str(out / "application_properties.json"),
        "--local",
    ]
    log = (out / "job.log").open("wb")
    job = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # noqa: S603
    outputs = Outputs()
    try:
        _write_batch(out / "input", 0, ["probe: not a reading"])
        if not _wait(outputs, out / "output", job, lambda: "error" in outputs.records, args.timeout):
            raise SystemExit(
                f"analytics-local: the job produced nothing within {args.timeout:.0f} s; see {out / 'job.log'}"
            )
        print("job is running (its error output answered the probe record); writing readings ...")
        device = "rack-0001"
        last = {
            "device_id": device,
            "event_time": _after(generated),
            "temperature_c": SENTINEL_TEMPERATURE,
            "humidity_pct": 47.0,
            "battery_v": 3.9,
            "status": "ok",
        }
        generated.lines.append(json.dumps(last, separators=(",", ":")))
        generated.keys.append((device, str(last["event_time"]), -1))
        _advance_event_time(generated, str(last["event_time"]), seconds=LATENESS_SECONDS + 2)
        started = time.monotonic()

        def answered(probe: str) -> bool:
            return _wait(
                outputs,
                out / "output",
                job,
                lambda: any(e["record"] == probe for e in outputs.records.get("error", [])[-5:]),
                args.timeout,
            )

        put_at, files = feed(generated, out / "input", args.rate, answered, batch=args.batch)
        print(f"wrote {len(put_at)} readings in {files} files, each once the job had read the one before")
        done = _wait(
            outputs,
            out / "output",
            job,
            lambda: any(a["temperature_c"] == SENTINEL_TEMPERATURE for a in outputs.records.get("anomaly", [])),
            args.timeout,
        )
        elapsed = time.monotonic() - started
        if not done:
            print("warning: the last reading was not seen in the output in time; figures are partial", file=sys.stderr)
        time.sleep(1.0)
        outputs.poll(out / "output")
    finally:
        job.terminate()
        try:
            job.wait(timeout=20)
        except subprocess.TimeoutExpired:
            job.kill()
        log.close()
    report(generated, outputs, put_at, forest.shingle_size, elapsed)
    print(f"\noutputs: {out / 'output'} (one JSON object per line, by kind); job log: {out / 'job.log'}")
    return 0


def _advance_event_time(generated: Generated, after: str, seconds: int) -> None:
    """Readings of the unlisted device past ``after``, so that the watermark passes the last real reading."""
    start = datetime.fromisoformat(after.replace("Z", "+00:00"))
    for step in range(1, seconds + 1):
        moment = (start + timedelta(seconds=step)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        document = {"device_id": UNKNOWN_DEVICE, "event_time": moment, "temperature_c": 22.0, "status": "ok"}
        generated.lines.append(json.dumps(document, separators=(",", ":")))
        generated.keys.append((UNKNOWN_DEVICE, moment, -1))


def _after(generated: Generated) -> str:
    last_time = max(moment for _, moment, _ in generated.keys)
    moment = datetime.fromisoformat(last_time.replace("Z", "+00:00")) + timedelta(seconds=1)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


if __name__ == "__main__":
    sys.exit(main())
