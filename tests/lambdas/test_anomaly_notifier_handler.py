"""The notifier end to end against moto: an anomaly object in, alerts on the topic, statuses in the table."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.anomaly_notifier import handler

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "eu-west-1"
BUCKET = "ml-data-lake-test-curated-111111111111-eu-west-1-an"
KEY = (
    "analytics/kind=anomaly/year=2026/month=11/day=26/hour=08/ml-data-lake-test-analytics-1-2026-11-26-08-15-00-abc.gz"
)
TABLE = "device-status"


@dataclass
class Aws:
    """The notifier's world in moto: the curated zone, the alert topic (read through a queue) and the table."""

    s3: Any
    sqs: Any
    queue_url: str
    table: Any

    def put_anomalies(self, *records: dict[str, Any], garbage: str = "") -> None:
        text = "\n".join(json.dumps(r) for r in records) + ("\n" + garbage if garbage else "") + "\n"
        self.s3.put_object(Bucket=BUCKET, Key=KEY, Body=gzip.compress(text.encode()))

    def alerts(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


def _anomaly(device: str, score: float, time: str = "2026-11-26T08:15:00Z") -> dict[str, Any]:
    return {
        "kind": "anomaly",
        "device_id": device,
        "site": "site-a",
        "anomaly_score": score,
        "threshold": 3.0,
        "event_time": time,
        "known_device": True,
        "temperature": 80.0,
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Aws]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    # The handler uses boto3's default session, which caches the fake credentials: give it a fresh one, and put
    # the previous one back afterwards, so no later test finds credentials that this one made up.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        table = dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "device_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "device_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("TABLE_NAME", TABLE)
        monkeypatch.setenv("TOPIC_ARN", topic)
        monkeypatch.setenv("ALERT_THRESHOLD", "4.0")
        yield Aws(s3=s3, sqs=sqs, queue_url=queue_url, table=table)


def _event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "eventbridge_s3_anomaly_object.json").read_text())
    return event


def test_alerts_above_the_threshold_and_every_device_status(aws: Aws) -> None:
    # Given an anomaly object with one alert-worthy anomaly, one below the alert threshold and one bad line
    aws.put_anomalies(_anomaly("dev-1", 6.0), _anomaly("dev-2", 3.5), garbage="{truncated")
    # When S3's event reaches the notifier (its key URL-encoded, as EventBridge sends it)
    summary = handler.handler(_event(), None)
    # Then one alert is published, both devices have a status, and the bad line is counted, not lost
    assert summary == {"anomalies": 2, "alerts": 1, "statuses": 2, "rejected": 1}
    alerts = aws.alerts()
    assert [a["Subject"] for a in alerts] == ["Anomaly on dev-1 at site-a: score 6.00"]
    statuses = {item["device_id"]: item for item in aws.table.scan()["Items"]}
    assert statuses["dev-1"]["status"] == "alerted"
    assert statuses["dev-2"]["status"] == "anomalous"
    assert statuses["dev-2"]["last_event_time"] == "2026-11-26T08:15:00Z"


def test_an_older_object_never_overwrites_a_newer_status(aws: Aws) -> None:
    # Given a device whose status is from 08:15
    aws.put_anomalies(_anomaly("dev-1", 4.5, "2026-11-26T08:15:00Z"))
    handler.handler(_event(), None)
    # When an object with an older anomaly of that device is processed late (a retry, say)
    aws.put_anomalies(_anomaly("dev-1", 9.0, "2026-11-26T08:01:00Z"))
    summary = handler.handler(_event(), None)
    # Then it is still alerted, but the table keeps the newer status
    assert summary["statuses"] == 0
    item = aws.table.get_item(Key={"device_id": "dev-1"})["Item"]
    assert item["last_event_time"] == "2026-11-26T08:15:00Z"


def test_more_than_ten_alerts_go_out_in_batches(aws: Aws) -> None:
    aws.put_anomalies(*(_anomaly(f"dev-{n:02d}", 5.0) for n in range(12)))
    assert handler.handler(_event(), None)["alerts"] == 12
    received = aws.alerts() + aws.alerts() + aws.alerts()
    assert len({a["Subject"] for a in received}) == 12


def test_a_missing_object_fails_the_invocation_so_it_is_retried(aws: Aws) -> None:
    # Given no object at the key: the invocation must fail (Lambda retries, then the dead-letter queue keeps it)
    with pytest.raises(aws.s3.exceptions.NoSuchKey):
        handler.handler(_event(), None)


def test_a_bad_threshold_setting_names_itself(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_THRESHOLD", "high")
    with pytest.raises(ValueError, match="ALERT_THRESHOLD='high' is not a number"):
        handler.handler(_event(), None)
