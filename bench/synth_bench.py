"""Time `cdk synth` of the whole app (nag packs included) against a one-bucket CDK app, same toolchain, same run.

Each app is synthesized two ways, interleaved: with CloudFormation's validation plugin, the CDK's default (a
WebAssembly engine whose start alone costs about 3.5 s of CPU, in any app), and with `--no-validation`, as
`make synth` runs (the security gate's synthesis runs the validation, in `make security` and `make test`). Three
ratios follow: like with like without the plugin (the app's own cost: building the constructs in Python through the
CDK's JavaScript runtime, the nag packs, the assets), like with like with it, and `make synth` against a one-bucket
app as the CDK runs it by default (what a user waits for).

Prints each run, the medians and the ratios, in wall-clock seconds and in CPU seconds (the CLI, app.py and the CDK's
JavaScript runtime together). It asserts nothing: the machines are shared and noisy, so the figures are for reading,
and the ratio (not the seconds) is what to compare between machines; on a busy machine the CPU ratio is the steadier
of the two.

    make bench            # or: .venv/bin/python -m bench.synth_bench --runs 3 --env sandbox
    .venv/bin/python -m bench.synth_bench --every-unit   # the same environment with every optional unit on

`--every-unit` synthesizes environment `every-unit`: the chosen environment's block with the ML, analytics,
warehouse, video and CDC units on, written into a copy of cdk.json beside which the CLI runs (the CLI hands its
cdk.json's context to app.py, which lays it over the project's own).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.timing import Timing, children_cpu

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


# Every optional unit on: what `--every-unit` lays over the chosen environment's block.
EVERY_UNIT = "every-unit"
UNITS_ON: dict[str, dict[str, object]] = {
    "ml": {"enabled": True},
    "analytics": {"enabled": True},
    "warehouse": {"enabled": True},
    "video": {"enabled": True},
    "cdc": {"enabled": True, "source": "create"},
}


def every_unit_cdk_json(directory: Path, env: str) -> Path:
    """A cdk.json in `directory` with the project's context and environment `every-unit`: `env`'s block with every
    optional unit on."""
    from infra.synthesis import CDK_JSON, cdk_context  # the one reader of cdk.json (it imports the CDK: when asked)

    context = cdk_context()
    environments = context["environments"]
    if env not in environments:
        raise SystemExit(
            f"error: --env {env!r} is not an environment of cdk.json; use one of {', '.join(environments)}"
        )
    block = dict(environments[env])
    block.update({unit: {**block.get(unit, {}), **on} for unit, on in UNITS_ON.items()})
    environments[EVERY_UNIT] = block
    (directory / CDK_JSON.name).write_text(json.dumps({"context": context}))
    return directory


def _time_synth(app_command: str, outdir: Path, extra: list[str], cwd: Path = ROOT) -> Timing:
    """Seconds one `cdk synth` takes, from the CLI's start to its exit."""
    cpu = children_cpu()
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(CDK), "synth", "--quiet", "--no-notices", "--app", app_command, "--output", str(outdir), *extra],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"error: cdk synth --app {app_command!r} failed:\n{result.stdout}{result.stderr}")
    return Timing(wall=elapsed, cpu=children_cpu() - cpu)


def main(argv: list[str]) -> int:
    """Run both apps both ways `--runs` times, interleaved so that machine noise hits all alike."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each app (default 3)")
    parser.add_argument("--env", default="sandbox", help="environment of the whole app (default sandbox)")
    parser.add_argument(
        "--every-unit", action="store_true", help="turn every optional unit on in that environment (see above)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give 1 or more")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    python = sys.executable
    timings: dict[tuple[str, str], list[Timing]] = {(app, way): [] for app in APPS for way in WAYS}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        one_bucket = tmpdir / "one_bucket_app.py"
        one_bucket.write_text(ONE_BUCKET_APP)
        env, whole_cwd = args.env, ROOT
        if args.every_unit:
            env, whole_cwd = EVERY_UNIT, every_unit_cdk_json(Path(tempfile.mkdtemp(dir=tmpdir)), args.env)
        commands = {
            "one-bucket app": (f"{python} {one_bucket}", [], ROOT),
            "whole app": (f"{python} {ROOT / 'app.py'}", ["-c", f"env={env}"], whole_cwd),
        }
        for run in range(1, args.runs + 1):
            for way, flags in WAYS.items():
                for app in APPS:
                    command, extra, cwd = commands[app]
                    outdir = tmpdir / f"{app.split()[0]}-{way.split()[0]}-{run}"
                    timing = _time_synth(command, outdir, [*extra, *flags], cwd)
                    timings[(app, way)].append(timing)
                    print(
                        f"run {run}: {app} ({env if app == 'whole app' else 'one bucket'}), {way}: "
                        f"{timing.wall:.2f} s ({timing.cpu:.2f} s CPU)"
                    )
    medians = {
        key: Timing(statistics.median(t.wall for t in runs), statistics.median(t.cpu for t in runs))
        for key, runs in timings.items()
    }
    print(f"median of {args.runs}:")
    for (app, way), timing in medians.items():
        print(f"  {app:<15} {way:<24} {timing.wall:6.2f} s  ({timing.cpu:.2f} s CPU)")
    for title, whole, one in RATIOS:
        full, base = medians[("whole app", whole)], medians[("one-bucket app", one)]
        print(f"ratio, {title}: {full.wall / base.wall:.2f}x wall, {full.cpu / base.cpu:.2f}x CPU")
    return 0


# `make synth` passes --no-validation (Makefile: SYNTH_FLAGS); the CDK's default runs the validation plugin.
WAYS: dict[str, list[str]] = {"without validation": ["--no-validation"], "with validation (default)": []}
APPS = ("one-bucket app", "whole app")
RATIOS = (
    ("like with like, without validation", "without validation", "without validation"),
    ("like with like, with validation", "with validation (default)", "with validation (default)"),
    ("make synth against the one-bucket app's default", "without validation", "with validation (default)"),
)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
