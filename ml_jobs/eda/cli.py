"""The command line of the analysis: ``python -m ml_jobs.eda --input PATH [--target COL] [--out FOLDER] ...``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final, TextIO

from ml_jobs.eda import analysis, report
from ml_jobs.eda.errors import InputError
from ml_jobs.eda.features import LAKE_LABEL
from ml_jobs.eda.kinds import parse_overrides
from ml_jobs.eda.sources import choose_time, parse_time, read_athena, read_table

PROG: Final = "python -m ml_jobs.eda"
DEFAULT_OUT: Final = Path("reports/eda")
REPORT: Final = "index.html"
METRICS: Final = "metrics.json"


def build_parser() -> argparse.ArgumentParser:
    """The entry point's flags (the contract with the SageMaker Processing job)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Exploratory analysis, features and a model of a table.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", type=Path, help="a CSV or Parquet file, or a folder of them (Hive partitions ok)")
    source.add_argument("--athena-table", metavar="DB.TABLE", help="read this table through Athena instead")
    parser.add_argument("--workgroup", help="Athena workgroup (with --athena-table)")
    parser.add_argument("--max-rows", type=int, default=1_000_000, help="rows read from Athena (%(default)s)")
    parser.add_argument("--target", help=f"column to predict; {LAKE_LABEL} derives the lake's label; none: no model")
    parser.add_argument("--time", help="time column (default: the first datetime or ISO-8601 text column)")
    parser.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="COL=KIND",
        help="override a column's kind: discrete, continuous, logical, ordinal[:a<b<c] (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (%(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the split and the forest (%(default)s)")
    parser.add_argument("--trees", type=int, default=150, help="trees in the random forest (%(default)s)")
    return parser


class Clock:
    """Progress lines on stderr with the time since the start, for steps that take a while."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.started = stream, time.monotonic()

    def __call__(self, step: str) -> None:
        """Say which step starts."""
        print(f"eda: [{time.monotonic() - self.started:6.1f} s] {step}", file=self.stream, flush=True)


def main(argv: Sequence[str] | None = None, *, stderr: TextIO = sys.stderr) -> int:
    """Run the analysis; exit status 0, or 2 with one line for bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    progress = Clock(stderr)
    try:
        if args.athena_table is not None:
            if not args.workgroup:
                raise InputError("--workgroup: required with --athena-table (the lake's Athena workgroup)")
            progress(f"reading {args.athena_table} through Athena (workgroup {args.workgroup})")
            frame = read_athena(args.athena_table, args.workgroup, max_rows=args.max_rows)
            source = f"athena:{args.athena_table}"
        else:
            progress(f"reading {args.input}")
            frame = read_table(args.input)
            source = str(args.input)
        if args.trees < 1:
            raise InputError(f"--trees: {args.trees} is too small; use 1 or more")
        partitions = tuple(frame.attrs.get("partitions", ()))
        overrides = parse_overrides(args.kind, [str(c) for c in frame.columns])
        time_column = choose_time(frame, args.time)
        if time_column is not None:
            frame = parse_time(frame, time_column)
        options = analysis.Options(
            source=source,
            target=args.target,
            time=time_column,
            overrides=overrides,
            seed=args.seed,
            trees=args.trees,
            partitions=partitions,
        )
        out: Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        progress(f"{len(frame)} rows, {len(frame.columns)} columns; kinds of data")
        outcome = analysis.run(frame, options, out, progress)
    except InputError as error:
        print(f"{PROG}: error: {error}", file=stderr)
        return 2
    (out / REPORT).write_text(report.page(f"Exploratory analysis of {source}", outcome.sections), encoding="utf-8")
    report.write_json(out / METRICS, outcome.metrics)
    progress(f"report: {out / REPORT}")
    return 0
