"""The video unit: its settings, the stream under the lake key, the labeler's schedule, roles and alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import ConfigError, load_environment
from infra.config.video import VideoSettings
from tests.synth import VARIANT_BLOCK, Synthesized

UNIT = "Video"


def _only(synth: Synthesized, kind: str) -> dict[str, Any]:
    (resource,) = synth.template(UNIT).find_resources(kind).values()
    return dict(resource)


def _functions(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """The unit's two functions by handler: `handler.handler` (labeler), `notifier.handler` (notifier)."""
    found = synth.template(UNIT).find_resources("AWS::Lambda::Function").values()
    return {f["Properties"]["Handler"]: f for f in found}


def _statements(synth: Synthesized, policy_part: str) -> list[dict[str, Any]]:
    policies = synth.template(UNIT).find_resources("AWS::IAM::ManagedPolicy")
    [policy] = [p for logical_id, p in policies.items() if policy_part in logical_id]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# --- Which environments have it ----------------------------------------------------------------------------------


def test_sandbox_has_no_video_stack_and_prod_and_the_variant_have_one(
    sandbox: Synthesized, prod: Synthesized, variant: Synthesized
) -> None:
    assert UNIT not in sandbox.templates
    assert sandbox.lake.video is None
    assert UNIT in prod.templates
    assert UNIT in variant.templates
    # Deployed after Analytics and the warehouse, before Monitoring
    names = [stack.stack_name.rsplit("-", 1)[-1] for stack in prod.lake.stacks]
    assert names.index("Analytics") < names.index("Warehouse") < names.index(UNIT) == names.index("Monitoring") - 1


# --- The stream ----------------------------------------------------------------------------------------------------


def test_the_stream_is_encrypted_with_the_lake_key_and_keeps_what_the_settings_say(
    prod: Synthesized, variant: Synthesized
) -> None:
    for synth, hours in ((prod, 720), (variant, VARIANT_BLOCK["video"]["retention_hours"])):
        stream = _only(synth, "AWS::KinesisVideo::Stream")
        properties = stream["Properties"]
        assert properties["DataRetentionInHours"] == hours
        assert properties["MediaType"] == "video/h264"
        assert properties["Name"] == f"ml-data-lake-{synth.settings.name}-video"
        assert "LakeKey" in _text(properties["KmsKeyId"])
        assert stream["DeletionPolicy"] == "Retain"


# --- The labeler and the notifier --------------------------------------------------------------------------------


def test_the_labeler_runs_on_the_schedule_and_failed_runs_are_kept(variant: Synthesized) -> None:
    rules = variant.template(UNIT).find_resources("AWS::Events::Rule")
    [schedule] = [r for r in rules.values() if "ScheduleExpression" in r["Properties"]]
    assert schedule["Properties"]["ScheduleExpression"] == "rate(10 minutes)"
    [target] = schedule["Properties"]["Targets"]
    assert "LabelingLabeler" in _text(target["Arn"])
    assert "DeadLetterQueue" in _text(target["DeadLetterConfig"])
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600}


def test_the_labeler_reads_its_sampling_from_the_settings(variant: Synthesized) -> None:
    environment = _functions(variant)["handler.handler"]["Properties"]["Environment"]["Variables"]
    # 12 frames a minute is one every 5,000 ms; 10 minutes of them is the run's budget
    assert environment["SAMPLING_INTERVAL_MS"] == "5000"
    assert environment["LOOKBACK_MS"] == "10000"
    assert environment["MAX_FRAMES"] == "120"
    assert environment["SCHEDULE_MINUTES"] == "10"
    assert environment["IMAGE_FORMAT"] == "PNG"
    assert json.loads(environment["WATCH_LABELS"]) == ["Person", "Car"]
    assert environment["EVENT_SOURCE"] == "ml-data-lake-variant.video"
    assert environment["PREFIX"] == "video/"


def test_watched_frames_reach_the_notifier_through_an_eventbridge_rule(prod: Synthesized) -> None:
    rules = prod.template(UNIT).find_resources("AWS::Events::Rule")
    [matches] = [r for r in rules.values() if "EventPattern" in r["Properties"]]
    assert matches["Properties"]["EventPattern"] == {
        "source": ["ml-data-lake-prod.video"],
        "detail-type": ["Video labels matched"],
    }
    [target] = matches["Properties"]["Targets"]
    assert "LabelingNotifier" in _text(target["Arn"])
    assert "DeadLetterQueue" in _text(target["DeadLetterConfig"])


def test_the_labeler_role_is_limited_to_the_stream_the_prefix_the_key_and_its_events(prod: Synthesized) -> None:
    statements = {tuple(sorted(_actions(s))): s for s in _statements(prod, "LabelingLabelerRole")}
    stream = statements[("kinesisvideo:GetDataEndpoint", "kinesisvideo:GetImages")]
    assert "VideoStream" in _text(stream["Resource"])
    key = statements[("kms:Decrypt", "kms:GenerateDataKey")]
    assert "LakeKey" in _text(key["Resource"])
    put = statements[("s3:PutObject",)]
    assert _text(put["Resource"]).endswith('"/video/*"]]}')
    events = statements[("events:PutEvents",)]
    assert "event-bus/default" in _text(events["Resource"])
    assert events["Condition"] == {"StringEquals": {"events:source": "ml-data-lake-prod.video"}}
    assert statements[("rekognition:DetectLabels",)]["Resource"] == "*"
    logs = statements[("logs:CreateLogStream", "logs:PutLogEvents")]
    assert "LabelerLogGroup" in _text(logs["Resource"])
    assert set(statements) == {
        ("kinesisvideo:GetDataEndpoint", "kinesisvideo:GetImages"),
        ("kms:Decrypt", "kms:GenerateDataKey"),
        ("s3:PutObject",),
        ("events:PutEvents",),
        ("rekognition:DetectLabels",),
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("sqs:SendMessage",),
    }


def test_the_notifier_role_only_publishes_to_the_alert_topic(prod: Synthesized) -> None:
    statements = {tuple(sorted(_actions(s))): s for s in _statements(prod, "LabelingNotifierRole")}
    assert set(statements) == {
        ("sns:Publish",),
        ("kms:Decrypt", "kms:GenerateDataKey"),
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("sqs:SendMessage",),
    }
    assert "AlertsTopic" in _text(statements[("sns:Publish",)]["Resource"])


def test_the_functions_log_to_lake_key_groups_named_for_the_environment(prod: Synthesized) -> None:
    groups = prod.template(UNIT).find_resources("AWS::Logs::LogGroup").values()
    assert {g["Properties"]["LogGroupName"] for g in groups} == {
        "/ml-data-lake-prod/lambda/video-labeler",
        "/ml-data-lake-prod/lambda/video-notifier",
    }
    assert all("LakeKey" in _text(g["Properties"]["KmsKeyId"]) for g in groups)


def test_the_dead_letter_queue_is_encrypted_and_alarmed(prod: Synthesized) -> None:
    queue = _only(prod, "AWS::SQS::Queue")
    assert "LakeKey" in _text(queue["Properties"]["KmsMasterKeyId"])
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in prod.template(UNIT).find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert {name: (a["Namespace"], a["MetricName"]) for name, a in alarms.items()} == {
        "ml-data-lake-prod-video-labeler-errors": ("AWS/Lambda", "Errors"),
        "ml-data-lake-prod-video-labeler-throttles": ("AWS/Lambda", "Throttles"),
        "ml-data-lake-prod-video-dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    }
    assert all("AlertsTopic" in _text(a["AlarmActions"]) for a in alarms.values())


def test_a_crawler_catalogs_labels_and_errors_as_tables(prod: Synthesized) -> None:
    crawler = _only(prod, "AWS::Glue::Crawler")["Properties"]
    assert crawler["TablePrefix"] == "video_"
    assert json.loads(crawler["Configuration"])["Grouping"]["TableLevelConfiguration"] == 3
    assert "/video/" in _text(crawler["Targets"]["S3Targets"])


def test_nothing_of_the_unit_is_public(prod: Synthesized) -> None:
    template = _text(prod.json(UNIT))
    assert '"Principal": "*"' not in template
    assert "FunctionUrl" not in template
    assert prod.template(UNIT).find_resources("AWS::Lambda::Url") == {}


def test_the_stack_outputs_what_the_tools_read(prod: Synthesized) -> None:
    outputs = prod.json(UNIT)["Outputs"]
    assert {"VideoStreamName", "VideoStreamArn", "VideoLabelerName", "VideoPrefix"} <= set(outputs)


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


# --- Settings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"retention_hours": 0}, "video.retention_hours = 0: input should be greater than or equal to 1"),
        ({"retention_hours": 87_601}, "video.retention_hours = 87601: input should be less than or equal to 87600"),
        ({"frames_per_minute": 301}, "video.frames_per_minute = 301: input should be less than or equal to 300"),
        ({"schedule_minutes": 0}, "video.schedule_minutes = 0: input should be greater than or equal to 1"),
        ({"image_format": "GIF"}, "video.image_format = 'GIF': input should be 'JPEG' or 'PNG'"),
        ({"width_pixels": 4000}, "video.width_pixels = 4000: input should be less than or equal to 3840"),
        ({"min_confidence": 101.0}, "video.min_confidence = 101.0: input should be less than or equal to 100"),
        ({"watch_labels": ["Person", "person"]}, "video.watch_labels: got ['Person', 'person']; list each label once"),
        ({"watch_labels": ["<script>"]}, "video.watch_labels: got '<script>'; a label name has 1 to 100"),
        (
            {"min_confidence": 80.0, "watch_min_confidence": 50.0},
            "video.watch_min_confidence = 50.0: must be at least min_confidence (80.0)",
        ),
        (
            {"frames_per_minute": 60, "schedule_minutes": 11},
            "video.frames_per_minute = 60: times schedule_minutes (11) is 660 frames per run; keep it at 600",
        ),
        (
            {"retention_hours": 1, "schedule_minutes": 60, "lag_seconds": 60},
            "video.retention_hours = 1: must keep media longer than one schedule window",
        ),
        ({"max_fragment_seconds": 61}, "video.max_fragment_seconds = 61: input should be less than or equal to 60"),
        ({"timestamps": "LOCAL"}, "video.timestamps = 'LOCAL': input should be 'SERVER_TIMESTAMP' or"),
        ({"enable": True}, "video.enable: unknown setting (a typo?); did you mean 'enabled'?"),
    ],
)
def test_a_bad_video_setting_is_one_clear_line(block: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_environment({"test": {"video": block}}, "test")
    assert str(error.value).startswith(f"environments.test.{message}"), str(error.value)
    assert "\n" not in str(error.value)


def test_the_defaults_are_off_and_the_sampling_is_derived() -> None:
    settings = VideoSettings()
    assert settings.enabled is False
    assert (settings.sampling_interval_ms, settings.frames_per_run) == (10_000, 30)
    assert VideoSettings(frames_per_minute=300, schedule_minutes=2).sampling_interval_ms == 200
    assert VideoSettings(retention_hours=87_600).retention_hours == 87_600
    # GetImages starts a fragment early, in whole sampling intervals (10 s: one interval of 10 s, 15 s: one of 15 s)
    assert VideoSettings(max_fragment_seconds=10).lookback_ms == 10_000
    assert VideoSettings(frames_per_minute=4, max_fragment_seconds=10).lookback_ms == 15_000
    assert VideoSettings(frames_per_minute=60, max_fragment_seconds=2).lookback_ms == 2_000
