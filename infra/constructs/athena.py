"""The Athena workgroup analysts query the lake through, and saved queries that show partition pruning."""

from __future__ import annotations

import re
from string import Template

from aws_cdk import Aws
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.guard import acknowledge_key_from_another_stack

BYTES_PER_MB = 1024 * 1024
ENGINE_VERSION = "Athena engine version 3"
RESULTS_PREFIX = "results/"


# Saved queries, each a template over a table name the crawlers chose (checked to be a plain identifier).
PRUNED_QUERY = Template(
    """\
-- Partition pruning: year, month and day are partition columns (the Hive folders year=/month=/day=),
-- so Athena lists and reads only the folders of 2026-11-26. Compare "Data scanned" with the full-scan query.
SELECT device_id,
       site,
       count(*)           AS readings,
       avg(temperature_c) AS avg_temperature_c,
       max(temperature_c) AS max_temperature_c
FROM $table
WHERE year = '2026' AND month = '11' AND day = '26'
GROUP BY device_id, site
ORDER BY device_id;
"""
)


FULL_SCAN_QUERY = Template(
    """\
-- Full scan: event_date is a data column, not a partition column, so Athena opens every object of
-- the table to find the same day. The workgroup cancels any query that scans more than its cutoff.
SELECT device_id,
       count(*) AS readings
FROM $table
WHERE event_date = DATE '2026-11-26'
GROUP BY device_id
ORDER BY device_id;
"""
)


QUARANTINE_QUERY = Template(
    """\
-- Quarantined rows of one run, by reason. The job writes each rejected row as it was read, with a
-- quarantine_reason such as "missing:device_id" or "unknown_device", under quarantine_date=<date of the run>.
SELECT quarantine_reason,
       count(*) AS row_count
FROM $table
WHERE quarantine_date = '2026-11-26'
GROUP BY quarantine_reason
ORDER BY row_count DESC;
"""
)


_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def saved_query(template: Template, table: str) -> str:
    """`template` over `table`, refusing anything but a plain lower-case identifier."""
    if not _IDENTIFIER.fullmatch(table):
        raise ValueError(f"table {table!r} is not a plain identifier")
    return template.substitute(table=table)


class QueryWorkgroup(Construct):
    """An Athena workgroup that enforces KMS-encrypted results in one place, a scan cutoff and CloudWatch metrics."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        query_results: s3.IBucket,
        key: kms.IKey,
        bytes_scanned_cutoff_mb: int,
        database: glue.IDatabase,
        curated_table: str,
        quarantine_table: str,
    ) -> None:
        super().__init__(scope, id)
        self.output_location = query_results.s3_url_for_object(RESULTS_PREFIX)
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=name,
            description="Queries on the ML data lake: results encrypted with the lake key, scans capped.",
            state="ENABLED",
            # The workgroup holds settings and saved queries, no data (results stay in their bucket): deleting the
            # stack may delete it even when it still lists saved queries.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Clients cannot override the result location, its encryption or the cutoff.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff_mb * BYTES_PER_MB,
                requester_pays_enabled=False,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(selected_engine_version=ENGINE_VERSION),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=self.output_location,
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        acknowledge_key_from_another_stack(self.workgroup, "CT.ATHENA.PR.2", key=key)
        self.name = name
        self.named_queries = self._saved_queries(
            name, database=database, curated_table=curated_table, quarantine_table=quarantine_table
        )

    def _saved_queries(
        self, name: str, *, database: glue.IDatabase, curated_table: str, quarantine_table: str
    ) -> list[athena.CfnNamedQuery]:
        """Partition pruning against a full scan on the curated table, and the quarantine's reasons."""
        return [
            self._named_query(
                "OneDayPruned",
                name=f"{name}-curated-one-day-pruned",
                description="One day of curated events, reading only that day's partitions.",
                query=saved_query(PRUNED_QUERY, curated_table),
                database_name=database.database_name,
            ),
            self._named_query(
                "OneDayFullScan",
                name=f"{name}-curated-one-day-full-scan",
                description="The same day filtered on a data column: a full scan, for comparison.",
                query=saved_query(FULL_SCAN_QUERY, curated_table),
                database_name=database.database_name,
            ),
            self._named_query(
                "QuarantineReasons",
                name=f"{name}-quarantine-reasons",
                description="Why the rows of one run were quarantined.",
                query=saved_query(QUARANTINE_QUERY, quarantine_table),
                database_name=database.database_name,
            ),
        ]

    def _named_query(
        self, id: str, *, name: str, description: str, query: str, database_name: str
    ) -> athena.CfnNamedQuery:
        return athena.CfnNamedQuery(
            self,
            id,
            name=name,
            description=description,
            database=database_name,
            query_string=query,
            work_group=self.workgroup.ref,
        )
