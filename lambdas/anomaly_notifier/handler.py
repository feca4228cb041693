"""Anomaly notifier Lambda: a thin handler over ``notify``, triggered by EventBridge when Firehose writes an object
under ``analytics/kind=anomaly/`` of the curated zone.

Environment:
    TABLE_NAME: the device-status table (one item per device, its latest anomaly).
    TOPIC_ARN: the alert topic.
    ALERT_THRESHOLD: anomalies scored at or above it are published; every anomaly updates the table.

A failed invocation (the object cannot be read, the table or topic refuses a call) raises, so Lambda retries it and
then sends the event to the on-failure destination: the object stays in S3 and the event says which one.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

if TYPE_CHECKING or __package__:
    from . import notify
else:
    import notify

LOGGER = logging.getLogger("anomaly_notifier")
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    LOGGER.setLevel(logging.INFO)
# SNS PublishBatch takes at most 10 messages per call.
PUBLISH_BATCH = 10


def settings() -> tuple[str, str, float]:
    """TABLE_NAME, TOPIC_ARN and ALERT_THRESHOLD; a missing or bad value fails loudly with its name."""
    raw = os.environ.get("ALERT_THRESHOLD", "")
    try:
        threshold = float(raw)
    except ValueError:
        raise ValueError(f"ALERT_THRESHOLD={raw!r} is not a number; set the score alerts start at") from None
    return os.environ["TABLE_NAME"], os.environ["TOPIC_ARN"], threshold


def handler(event: dict[str, Any], context: object) -> dict[str, int]:
    """Read the new anomaly object, publish alerts, keep each device's latest status."""
    table_name, topic_arn, threshold = settings()
    detail = event["detail"]
    bucket, key = detail["bucket"]["name"], unquote_plus(detail["object"]["key"])
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    anomalies, rejected = notify.parse_anomalies(notify.decode_object(body))
    for bad in rejected:
        # The record stays in the object; the log line says where and why, never the payload.
        LOGGER.error("s3://%s/%s line %d skipped: %s", bucket, key, bad.line, bad.reason)
    to_alert = notify.alerts(anomalies, threshold)
    publish(topic_arn, to_alert)
    alerted = {(a.device_id, a.event_time) for a in to_alert}
    written = record_statuses(table_name, notify.latest_per_device(anomalies), alerted)
    summary = {"anomalies": len(anomalies), "alerts": len(to_alert), "statuses": written, "rejected": len(rejected)}
    LOGGER.info("s3://%s/%s %s", bucket, key, json.dumps(summary, sort_keys=True))
    return summary


def publish(topic_arn: str, anomalies: list[notify.Anomaly]) -> None:
    """One message per alert, in batches of ten; any refused entry fails the invocation (and it is retried)."""
    sns = boto3.client("sns")
    for start in range(0, len(anomalies), PUBLISH_BATCH):
        entries = []
        for index, anomaly in enumerate(anomalies[start : start + PUBLISH_BATCH]):
            subject, message = notify.alert_message(anomaly)
            entries.append({"Id": str(index), "Subject": subject, "Message": message})
        failed = sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"SNS refused {len(failed)} alert(s): {failed[0].get('Message', failed[0])}")


def record_statuses(table_name: str, anomalies: list[notify.Anomaly], alerted: set[tuple[str, str]]) -> int:
    """Write each device's latest anomaly unless the table already holds a later one; the number written."""
    table = boto3.resource("dynamodb").Table(table_name)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    written = 0
    for anomaly in anomalies:
        item = notify.status_item(anomaly, alerted=(anomaly.device_id, anomaly.event_time) in alerted, updated_at=now)
        try:
            # Objects can be processed out of order (retries, parallel invocations): never go back in time.
            table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(device_id) OR last_event_time <= :t",
                ExpressionAttributeValues={":t": anomaly.event_time},
            )
            written += 1
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
    return written
