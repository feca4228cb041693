"""Time `cdk synth` of the whole app (nag packs included) against a one-bucket CDK app, same toolchain, same run.

Prints each run, the median of each and their ratio, in wall-clock seconds and in CPU seconds (the CLI, app.py and
the CDK's JavaScript runtime together). It asserts nothing: the machines are shared and noisy, so the figures are
for reading, and the ratio (not the seconds) is what to compare between machines; on a busy machine the CPU ratio
is the steadier of the two.

    make bench            # or: .venv/bin/python -m bench.synth_bench --runs 3 --env sandbox
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"

ONE_BUCKET_APP = """
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

app = cdk.App()
stack = cdk.Stack(app, "OneBucket")
s3.Bucket(stack, "Bucket")
app.synth()
"""


@dataclass(frozen=True)
class Timing:
    """One `cdk synth`: wall-clock seconds, and CPU seconds of every process it ran."""

    wall: float
    cpu: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_synth(app_command: str, outdir: Path, extra: list[str]) -> Timing:
    """Seconds one `cdk synth` takes, from the CLI's start to its exit."""
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(CDK), "synth", "--quiet", "--no-notices", "--app", app_command, "--output", str(outdir), *extra],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"error: cdk synth --app {app_command!r} failed:\n{result.stdout}{result.stderr}")
    return Timing(wall=elapsed, cpu=_children_cpu() - cpu)


def main(argv: list[str]) -> int:
    """Run both apps `--runs` times, interleaved so that machine noise hits both alike."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each app (default 3)")
    parser.add_argument("--env", default="sandbox", help="environment of the whole app (default sandbox)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give 1 or more")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    python = sys.executable
    whole: list[Timing] = []
    baseline: list[Timing] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        one_bucket = tmpdir / "one_bucket_app.py"
        one_bucket.write_text(ONE_BUCKET_APP)
        for run in range(1, args.runs + 1):
            baseline.append(_time_synth(f"{python} {one_bucket}", tmpdir / f"one-{run}", []))
            whole.append(_time_synth(f"{python} app.py", tmpdir / f"whole-{run}", ["-c", f"env={args.env}"]))
            print(
                f"run {run}: one-bucket app {baseline[-1].wall:.2f} s ({baseline[-1].cpu:.2f} s CPU), "
                f"whole app ({args.env}) {whole[-1].wall:.2f} s ({whole[-1].cpu:.2f} s CPU)"
            )
    for measure in ("wall", "cpu"):
        one = statistics.median(getattr(t, measure) for t in baseline)
        full = statistics.median(getattr(t, measure) for t in whole)
        print(
            f"median of {args.runs} ({measure}): one-bucket app {one:.2f} s, whole app {full:.2f} s, "
            f"ratio {full / one:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
