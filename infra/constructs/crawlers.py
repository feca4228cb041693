"""Glue crawlers that keep the Data Catalog in step with a zone of the lake."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.glue_security import GlueSecurity
from infra.constructs.managed_policy_role import ManagedPolicyRole

# Incremental crawls: only folders added since the last run are read, so a crawl costs what the new data costs.
# AWS requires both schema-change behaviours to be LOG with this recrawl policy (CreateCrawler refuses anything
# else), and LOG is also what the lake wants: a changed schema or a deleted folder is reported in the crawler's log
# instead of silently rewriting or dropping the tables that Athena queries and analysts rely on.
RECRAWL_BEHAVIOR = "CRAWL_NEW_FOLDERS_ONLY"
UPDATE_BEHAVIOR = "LOG"
DELETE_BEHAVIOR = "LOG"

# What a crawler does to the catalog: create its tables, add and refresh partitions. It never deletes anything
# (DeleteBehavior LOG), so it gets no delete action.
CATALOG_ACTIONS = (
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTables",
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
    "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
)

# Like Hive, Spark and Athena, skip what a leading underscore marks hidden, at any depth: Spark's _SUCCESS markers
# and _temporary folders, the job's _reader_errors.
HIDDEN = ("_*", "_*/**", "**/_*", "**/_*/**")


def _check_folders(crawler: str, folders: tuple[str, ...]) -> None:
    """Each folder is one table, so each must be a top-level folder of the zone."""
    for folder in folders:
        if not folder.endswith("/") or folder.count("/") != 1:
            raise ValueError(f"crawler {crawler}: {folder!r} must be a top-level folder such as 'events/'")


def crawler_configuration(table_level: int) -> str:
    """The crawler's JSON configuration: tables at `table_level`, partitions that inherit their table's schema."""
    return json.dumps(
        {
            "Version": 1.0,
            # Level 1 is the bucket, level 2 a top-level folder: each folder is one table, whatever the partition
            # folders below it look like (level 3: one table per sub-folder of each folder).
            "Grouping": {"TableLevelConfiguration": table_level},
            # New partitions take their table's schema instead of each inferring its own.
            "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
        },
        sort_keys=True,
    )


class ZoneCrawler(Construct):
    """A crawler over top-level folders of one zone: one table `<table_prefix><folder>` per folder.

    Hive-style folders below each (`year=2026/...`) become partition columns. With `table_level=3`, each sub-folder
    of a folder is a table instead (the analytics outputs: one table per `kind=<kind>/`). There is no L2 crawler in
    aws-cdk-lib's aws_glue, so this wraps `CfnCrawler`, with a role limited to the folders and tables it owns.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        zone: s3.IBucket,
        folders: tuple[str, ...],
        database: glue.IDatabase,
        table_prefix: str,
        key: kms.IKey,
        security: GlueSecurity,
        table_level: int = 2,
    ) -> None:
        super().__init__(scope, id)
        _check_folders(name, folders)
        stack = Stack.of(self)
        self.role = ManagedPolicyRole(
            self,
            "Role",
            service="glue.amazonaws.com",
            description=f"Glue crawler {name}: reads {', '.join(folders)} of one zone, writes {table_prefix}* tables.",
        )
        self._grant(zone=zone, folders=folders, database=database, table_prefix=table_prefix, key=key)
        security.grant_logging(self.role, log_group_prefix="crawlers")
        self.crawler = glue.CfnCrawler(
            self,
            "Crawler",
            name=name,
            description=f"Catalogs {', '.join(folders)} of its zone as {table_prefix}* tables (new folders only).",
            role=self.role.role_arn,
            database_name=database.database_name,
            table_prefix=table_prefix,
            targets=glue.CfnCrawler.TargetsProperty(
                s3_targets=[
                    glue.CfnCrawler.S3TargetProperty(path=zone.s3_url_for_object(folder), exclusions=list(HIDDEN))
                    for folder in folders
                ]
            ),
            recrawl_policy=glue.CfnCrawler.RecrawlPolicyProperty(recrawl_behavior=RECRAWL_BEHAVIOR),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior=UPDATE_BEHAVIOR, delete_behavior=DELETE_BEHAVIOR
            ),
            crawler_security_configuration=security.name,
            configuration=crawler_configuration(table_level),
        )
        # The crawler must not exist before its role may read and log.
        self.crawler.node.add_dependency(self.role.policy)
        self.name = name
        self.arn = stack.format_arn(service="glue", resource="crawler", resource_name=name)
        # At level 2 the tables are known now; deeper, Glue names them after the sub-folders it finds.
        self.tables = tuple(f"{table_prefix}{folder.rstrip('/')}" for folder in folders) if table_level == 2 else ()

    def _grant(
        self, *, zone: s3.IBucket, folders: tuple[str, ...], database: glue.IDatabase, table_prefix: str, key: kms.IKey
    ) -> None:
        """Read the crawled folders, write the crawler's own tables of the lake's database, and nothing else."""
        objects = [zone.arn_for_objects(f"{folder}*") for folder in folders]
        tables = Stack.of(self).format_arn(
            service="glue", resource="table", resource_name=f"{database.database_name}/{table_prefix}*"
        )
        for statement in (
            # Hand-written instead of grant_read(): its wildcard action groups (s3:GetObject*, s3:List*) are more
            # than a crawler uses, and its reads stay inside the crawled folders.
            iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[zone.bucket_arn]),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=objects),
            # The zone is SSE-KMS, and the Data Catalog is encrypted with the same key.
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[key.key_arn]),
            iam.PolicyStatement(
                actions=list(CATALOG_ACTIONS), resources=[database.catalog.catalog_arn, database.database_arn, tables]
            ),
            # Security configurations have no ARN: IAM accepts only "*" for this read of settings.
            iam.PolicyStatement(actions=["glue:GetSecurityConfiguration"], resources=["*"]),
        ):
            self.role.add_to_principal_policy(statement)
        self.role.acknowledge_wildcard_resources(
            *objects,
            reason="The crawler reads every object under the folders it catalogs, and only there; object names are "
            "only known once data lands.",
        )
        self.role.acknowledge_wildcard_resources(
            tables,
            reason="The crawler creates and updates only tables named with its own prefix in the lake's database; "
            "their names come from the folders it finds.",
        )
        self.role.acknowledge_wildcard_resources(
            "*",
            reason="glue:GetSecurityConfiguration has no resource type in IAM, so only '*' is accepted; it reads "
            "encryption settings, no data.",
        )
