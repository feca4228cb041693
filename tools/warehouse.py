"""`make warehouse-query`: run SQL on the deployed warehouse through the Redshift Data API and print the result.

    python -m tools.warehouse --env sandbox --sql "SELECT COUNT(*) FROM lake.curated_events"
    python -m tools.warehouse --env sandbox --file warehouse/sql/copy_sensor_events.sql [--admin]

The workgroup, database, curated zone and external schema come from `outputs/<env>.json` (written by `make deploy`);
`{curated_zone}` and `{external_schema}` in the SQL are replaced by them. A file of several statements runs as one
batch, in one transaction. By default the statements run as your own IAM identity (Redshift Serverless maps it to a
database user `IAMR:<role>` or `IAM:<user>`; the external schema is readable by every user); `--admin` runs them as
the namespace's admin, with the password Redshift keeps in Secrets Manager. The Data API is asynchronous: the tool
polls until the statement ends, then prints each result set as a table. Each run bills at least 60 RPU-seconds of
the workgroup's base capacity.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

from infra.config import DEFAULT_ENVIRONMENT
from tools.stack_outputs import OutputsError, StackOutputs, outputs_path

RUNNING = frozenset({"SUBMITTED", "PICKED", "STARTED"})
DEFAULT_TIMEOUT_SECONDS = 300.0
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class WarehouseError(Exception):
    """The statement could not be run or failed; the message says why (Redshift's error text when it has one)."""


@dataclass(frozen=True)
class Target:
    """Where statements run: the workgroup (and its region and namespace), its database, what the SQL may name."""

    workgroup: str
    region: str
    namespace: str
    database: str
    placeholders: Mapping[str, str]

    @classmethod
    def from_outputs(cls, outputs: StackOutputs) -> Target:
        """Read the Warehouse stack's outputs."""
        arn = outputs.get("WarehouseWorkgroupArn")
        return cls(
            workgroup=outputs.get("WarehouseWorkgroupName"),
            region=arn.split(":")[3],
            namespace=outputs.get("WarehouseNamespaceName"),
            database=outputs.get("WarehouseDatabase"),
            placeholders={
                "curated_zone": outputs.get("WarehouseCuratedZone"),
                "external_schema": outputs.get("WarehouseExternalSchema"),
            },
        )


def fill(sql: str, placeholders: Mapping[str, str]) -> str:
    """Replace `{name}` placeholders; an unknown one is an error that lists the known ones."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in placeholders:
            raise WarehouseError(f"unknown placeholder {{{name}}} in the SQL; known: {', '.join(sorted(placeholders))}")
        return placeholders[name]

    return _PLACEHOLDER.sub(value, sql)


def split_statements(sql: str) -> list[str]:
    """The statements of a SQL text, split at semicolons outside quotes and `--` comments; comments are kept."""
    statements, current, quote, index = [], [], "", 0
    while index < len(sql):
        char = sql[index]
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = len(sql) if end == -1 else end
            current.append(sql[index:end])
            index = end
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if _code(s)]


def _code(statement: str) -> str:
    """A statement without its comments and blank lines (empty: nothing to run)."""
    return "\n".join(line for line in statement.splitlines() if line.strip() and not line.strip().startswith("--"))


def start(data: Any, target: Target, statements: Sequence[str], secret_arn: str | None) -> str:
    """Start the statements (one, or a batch in one transaction); the statement ID to poll."""
    where: dict[str, Any] = {"WorkgroupName": target.workgroup, "Database": target.database}
    if secret_arn:
        where["SecretArn"] = secret_arn
    if len(statements) == 1:
        return str(data.execute_statement(Sql=statements[0], **where)["Id"])
    return str(data.batch_execute_statement(Sqls=list(statements), **where)["Id"])


def wait(
    data: Any,
    statement_id: str,
    *,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll DescribeStatement until the statement ends; its description, or WarehouseError with Redshift's error."""
    deadline, delay = clock() + timeout, 0.5
    while True:
        description: dict[str, Any] = data.describe_statement(Id=statement_id)
        status = description["Status"]
        if status == "FINISHED":
            return description
        if status not in RUNNING:
            raise WarehouseError(f"statement {statement_id} {status}: {description.get('Error', 'no error text')}")
        if clock() >= deadline:
            data.cancel_statement(Id=statement_id)
            raise WarehouseError(f"statement {statement_id} still {status} after {timeout:g} s: cancelled")
        sleep(delay)
        delay = min(delay * 2, 5.0)


def _cell(field: Mapping[str, Any]) -> str:
    if field.get("isNull"):
        return "NULL"
    for kind in ("stringValue", "longValue", "doubleValue", "booleanValue"):
        if kind in field:
            return str(field[kind])
    return "<blob>" if "blobValue" in field else ""


def results(data: Any, description: Mapping[str, Any]) -> list[tuple[list[str], list[list[str]]]]:
    """Each result set of the statement (of each sub-statement of a batch that has one): columns and rows."""
    ids = [s["Id"] for s in description.get("SubStatements", []) if s.get("HasResultSet")]
    if not ids and description.get("HasResultSet"):
        ids = [description["Id"]]
    tables = []
    for statement_id in ids:
        columns: list[str] = []
        rows: list[list[str]] = []
        token: str | None = None
        while True:
            page = data.get_statement_result(Id=statement_id, **({"NextToken": token} if token else {}))
            columns = columns or [c.get("label") or c["name"] for c in page["ColumnMetadata"]]
            rows += [[_cell(field) for field in record] for record in page["Records"]]
            token = page.get("NextToken")
            if not token:
                break
        tables.append((columns, rows))
    return tables


def render(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A result set as an aligned text table with a row count."""
    widths = [max(len(str(value)) for value in column) for column in zip(columns, *rows, strict=True)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    body = [
        line.format(*columns).rstrip(),
        line.format(*("-" * w for w in widths)),
        *(line.format(*r).rstrip() for r in rows),
    ]
    return "\n".join([*body, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"])


def admin_secret(serverless: Any, namespace: str) -> str:
    """The ARN of the admin secret Redshift manages for the namespace."""
    arn = serverless.get_namespace(namespaceName=namespace)["namespace"].get("adminPasswordSecretArn")
    if not arn:
        raise WarehouseError(f"namespace {namespace} has no managed admin secret")
    return str(arn)


def run(
    clients: Callable[[str, str], Any], target: Target, sql: str, *, admin: bool, timeout: float, out: TextIO
) -> None:
    """Run `sql` on the target and print what it returns."""
    statements = split_statements(fill(sql, target.placeholders))
    if not statements:
        raise WarehouseError("the SQL holds no statement")
    data = clients("redshift-data", target.region)
    secret = admin_secret(clients("redshift-serverless", target.region), target.namespace) if admin else None
    statement_id = start(data, target, statements, secret)
    description = wait(data, statement_id, timeout=timeout)
    tables = results(data, description)
    for columns, rows in tables:
        print(render(columns, rows), file=out)
    if not tables:
        print(f"OK: {len(statements)} statement(s), {description.get('ResultRows', 0)} row(s) affected", file=out)


def boto3_client(service: str, region: str) -> Any:
    """A client of `service` in `region`."""
    import boto3  # type: ignore[import-untyped, unused-ignore]

    return boto3.client(service, region_name=region)


def build_parser() -> argparse.ArgumentParser:
    """The command line of `make warehouse-query`."""
    parser = argparse.ArgumentParser(prog="python -m tools.warehouse", description="Run SQL on the warehouse.")
    parser.add_argument("--env", default=DEFAULT_ENVIRONMENT, help="environment from cdk.json (%(default)s)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sql", help="the SQL text")
    source.add_argument("--file", type=Path, help="a file of SQL (e.g. warehouse/sql/copy_sensor_events.sql)")
    parser.add_argument("--admin", action="store_true", help="run as the namespace's admin (its managed secret)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds to wait (%(default)s)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Callable[[str, str], Any] = boto3_client,
    out: TextIO = sys.stdout,
) -> int:
    """0 when the statements ran; 1 when one failed; 2 when the warehouse or the SQL cannot be found."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        target = Target.from_outputs(StackOutputs.load(outputs_path(args.env), env=args.env))
        sql = args.sql if args.sql is not None else args.file.read_text(encoding="utf-8")
    except (OutputsError, OSError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    try:
        run(clients, target, sql, admin=args.admin, timeout=args.timeout, out=out)
    except (WarehouseError, ClientError, BotoCoreError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
