"""``make eda ENV=sandbox``: the same analysis on the deployed curated table, read through Athena.

    python -m ml_jobs.eda.sandbox --env sandbox [--table DB.TABLE] [--out reports/eda] [--max-rows N]

The Athena workgroup comes from the stack outputs (``outputs/<env>.json``, key ending ``AthenaWorkGroup``); the
table, unless given, is the one the curated crawler makes of its first folder (``<table prefix>events`` in its
database), found with ``glue:GetCrawler`` from the output ending ``CuratedCrawlerName``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml_jobs.eda import cli
from ml_jobs.eda.features import LAKE_LABEL
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path

PROG = "python -m ml_jobs.eda.sandbox"


def curated_table(glue: Any, crawler_name: str) -> str:
    """``DB.TABLE`` of the curated readings, from the curated crawler's database, prefix and first S3 target."""
    crawler = glue.get_crawler(Name=crawler_name)["Crawler"]
    path = crawler["Targets"]["S3Targets"][0]["Path"].rstrip("/")
    return f"{crawler['DatabaseName']}.{crawler.get('TablePrefix', '')}{path.rsplit('/', 1)[-1]}".lower()


def main(argv: Sequence[str] | None = None, *, glue: Any = None) -> int:
    """Find the workgroup and table of ENV, then run the analysis on it."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="sandbox", help="environment whose outputs/<env>.json to read (%(default)s)")
    parser.add_argument("--table", help="DB.TABLE to analyse (default: the curated crawler's events table)")
    parser.add_argument("--out", type=Path, default=cli.DEFAULT_OUT, help="report folder (%(default)s)")
    parser.add_argument("--max-rows", type=int, default=1_000_000, help="newest rows to read (%(default)s)")
    parser.add_argument("--trees", type=int, default=150, help="trees in the random forest (%(default)s)")
    args = parser.parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

    try:
        outputs = StackOutputs.load(outputs_path(args.env), env=args.env)
        workgroup = outputs.get("AthenaWorkGroup")
        table = args.table
        if table is None:
            crawler = outputs.get("CuratedCrawlerName")
            if glue is None:
                import boto3  # type: ignore[import-untyped, unused-ignore]

                glue = boto3.client("glue")
            table = curated_table(glue, crawler)
    except OutputsError as error:
        parser.error(f"--env: {error}")
    except (BotoCoreError, ClientError) as error:
        parser.error(f"--env: cannot read the curated crawler {crawler} of {args.env} ({error}); or pass --table")
    status = cli.main(
        [
            "--athena-table",
            table,
            "--workgroup",
            workgroup,
            "--target",
            LAKE_LABEL,
            "--out",
            str(args.out),
            "--max-rows",
            str(args.max_rows),
            "--trees",
            str(args.trees),
        ]
    )
    if status == 0:
        print(f"report: {(args.out / cli.REPORT).resolve()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
