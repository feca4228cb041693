"""Warehouse schema provider: the on-event and is-complete handlers of a CDK `Provider` that keeps the warehouse's
external schema over the lake's Glue database.

`on_event` starts the statements through the Redshift Data API (asynchronous) as the namespace's admin, whose
password Redshift keeps in Secrets Manager (CloudFormation does not expose its ARN, GetNamespace does); `is_complete`
polls DescribeStatement until they finish. A failed statement raises with Redshift's error text, which fails the
deployment with it. Both handlers run with the same role: the Data API describes a statement only to its caller.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

if TYPE_CHECKING or __package__:
    from . import statements
else:
    import statements

LOGGER = logging.getLogger("warehouse_schema")
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    LOGGER.setLevel(logging.INFO)
# On delete, a namespace or workgroup that is already gone leaves no schema to drop.
GONE = frozenset({"ResourceNotFoundException"})


def data_api() -> Any:
    """The Redshift Data API client."""
    return boto3.client("redshift-data")


def serverless() -> Any:
    """The Redshift Serverless client (GetNamespace)."""
    return boto3.client("redshift-serverless")


def admin_secret_arn(client: Any, namespace: str) -> str:
    """The ARN of the admin secret Redshift manages for the namespace."""
    found = client.get_namespace(namespaceName=namespace)["namespace"].get("adminPasswordSecretArn")
    if not found:
        raise RuntimeError(f"namespace {namespace} has no managed admin secret: create it with ManageAdminPassword")
    return str(found)


def on_event(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Start the statements of a Create, Update or Delete; report the schema's physical ID and the statement's ID."""
    request = event["RequestType"]
    plan = statements.plan(
        request, event["ResourceProperties"], event.get("OldResourceProperties"), event.get("PhysicalResourceId")
    )
    done = {"PhysicalResourceId": plan.physical_id, "Data": {"StatementId": ""}}
    if not plan.sqls:
        return done
    props = statements.SchemaProperties.parse(event["ResourceProperties"])
    try:
        secret = admin_secret_arn(serverless(), props.namespace)
        started = data_api().batch_execute_statement(
            WorkgroupName=props.workgroup,
            Database=props.database,
            SecretArn=secret,
            Sqls=plan.sqls,
            StatementName=f"warehouse-schema-{request.lower()}",
        )
    except ClientError as error:
        if request == "Delete" and error.response["Error"]["Code"] in GONE:
            LOGGER.info("nothing to drop: %s", error.response["Error"]["Message"])
            return done
        raise
    LOGGER.info("%s %s: statement %s", request, plan.physical_id, started["Id"])
    return {"PhysicalResourceId": plan.physical_id, "Data": {"StatementId": started["Id"]}}


def is_complete(event: dict[str, Any], context: object) -> dict[str, bool]:
    """Whether the statement `on_event` started has finished; raises with its error when it failed."""
    statement_id = event.get("Data", {}).get("StatementId")
    if not statement_id:
        return {"IsComplete": True}
    description = data_api().describe_statement(Id=statement_id)
    finished = statements.is_finished(description)
    LOGGER.info("statement %s: %s", statement_id, description.get("Status"))
    return {"IsComplete": finished}
