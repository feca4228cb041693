"""The notifier's pure logic: parsing anomaly records, choosing alerts, wording them, the status items."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from typing import Any

import pytest

from lambdas.anomaly_notifier import notify


def _record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "anomaly",
        "device_id": "dev-007",
        "site": "site-a",
        "anomaly_score": 4.5,
        "threshold": 3.0,
        "event_time": "2026-11-26T08:15:00Z",
        "known_device": True,
        "temperature": 81.5,
        "humidity": 40,
    }
    record.update(overrides)
    return record


def test_a_gzip_object_and_a_plain_one_give_the_same_lines() -> None:
    # Given two JSON lines and a blank one, compressed as Firehose writes them and not
    text = json.dumps(_record()) + "\n\n" + json.dumps(_record(device_id="dev-008")) + "\n"
    # When decoded
    # Then both forms give the two non-empty lines
    assert notify.decode_object(gzip.compress(text.encode())) == notify.decode_object(text.encode())
    assert len(notify.decode_object(text.encode())) == 2


def test_a_valid_record_keeps_its_fields_and_numeric_readings() -> None:
    anomaly = notify.parse_anomaly(_record())
    assert anomaly.device_id == "dev-007"
    assert anomaly.site == "site-a"
    assert anomaly.anomaly_score == 4.5
    assert anomaly.readings == {"temperature": 81.5, "humidity": 40.0}


def test_a_nested_readings_object_is_used_as_is() -> None:
    anomaly = notify.parse_anomaly(_record(readings={"temperature": 70.0, "label": "x"}, temperature=None))
    assert anomaly.readings == {"temperature": 70.0}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        (json.dumps(_record(kind="hotspot")), "kind is 'hotspot', expected 'anomaly'"),
        (json.dumps(_record(device_id="")), "device_id must be a non-empty string"),
        (json.dumps(_record(anomaly_score="high")), "anomaly_score must be a finite number, got 'high'"),
        (json.dumps(_record(anomaly_score=True)), "anomaly_score must be a finite number, got True"),
        (json.dumps(_record(known_device="yes")), "known_device must be true or false"),
        (json.dumps(_record(site=3)), "site must be a string or null"),
    ],
)
def test_a_bad_line_is_rejected_with_its_number_and_reason(line: str, reason: str) -> None:
    # Given a good line, then a bad one
    anomalies, rejected = notify.parse_anomalies([json.dumps(_record()), line])
    # Then the good one is kept and the bad one is named, never dropped silently
    assert len(anomalies) == 1
    assert len(rejected) == 1
    assert rejected[0].line == 2
    assert reason in rejected[0].reason


def test_only_anomalies_at_or_above_the_alert_threshold_are_alerts() -> None:
    anomalies = [notify.parse_anomaly(_record(anomaly_score=score)) for score in (3.1, 4.0, 9.0)]
    assert [a.anomaly_score for a in notify.alerts(anomalies, 4.0)] == [4.0, 9.0]


def test_an_alert_names_the_device_site_score_and_readings() -> None:
    subject, body = notify.alert_message(notify.parse_anomaly(_record(known_device=False)))
    assert subject == "Anomaly on dev-007 at site-a: score 4.50"
    assert (
        "Device dev-007 (unknown device) at site-a scored 4.500 (anomaly threshold 3) at 2026-11-26T08:15:00Z" in body
    )
    assert "Readings: humidity=40, temperature=81.5." in body


def test_a_long_subject_is_cut_to_what_sns_accepts() -> None:
    subject, _ = notify.alert_message(notify.parse_anomaly(_record(device_id="d" * 150)))
    assert len(subject) == notify.SUBJECT_LIMIT


def test_a_subject_is_printable_ascii_as_sns_requires() -> None:
    subject, body = notify.alert_message(notify.parse_anomaly(_record(site="Zürich\nhall 2")))
    assert subject == "Anomaly on dev-007 at Z?rich?hall 2: score 4.50"
    assert "Zürich" in body


def test_the_status_item_uses_decimals_and_says_whether_an_alert_went_out() -> None:
    item = notify.status_item(notify.parse_anomaly(_record()), alerted=True, updated_at="2026-11-26T08:16:10+00:00")
    assert item["status"] == "alerted"
    assert item["anomaly_score"] == Decimal("4.5")
    assert item["readings"] == {"temperature": Decimal("81.5"), "humidity": Decimal("40.0")}
    assert item["site"] == "site-a"
    no_site = notify.status_item(notify.parse_anomaly(_record(site=None)), alerted=False, updated_at="t")
    assert no_site["status"] == "anomalous"
    assert "site" not in no_site


def test_the_latest_anomaly_of_each_device_wins() -> None:
    anomalies = [
        notify.parse_anomaly(_record(device_id="b", event_time="2026-11-26T08:00:00Z")),
        notify.parse_anomaly(_record(device_id="a", event_time="2026-11-26T08:05:00Z", anomaly_score=5.0)),
        notify.parse_anomaly(_record(device_id="a", event_time="2026-11-26T08:10:00Z", anomaly_score=3.5)),
        notify.parse_anomaly(_record(device_id="b", event_time="2026-11-26T07:59:00Z")),
    ]
    latest = notify.latest_per_device(anomalies)
    assert [(a.device_id, a.event_time) for a in latest] == [
        ("a", "2026-11-26T08:10:00Z"),
        ("b", "2026-11-26T08:00:00Z"),
    ]
