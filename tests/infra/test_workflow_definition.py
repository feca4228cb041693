"""The curation workflow's state machine, read as Step Functions reads it: states, transitions, retries, catches.

The definition is taken from the synthesized template, its tokens replaced by placeholder ARNs, then checked state
by state and by the `asl-validator` npm package (installed by `npm ci`) in a subprocess.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.constructs.sklearn_image import REGISTRY_ACCOUNTS
from infra.constructs.workflow import MAX_POLLS, POLL_INTERVAL
from tests.synth import ROOT, Synthesized

ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
ACCOUNT, REGION = "111111111111", "eu-west-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:placeholder-alert-topic"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}
# Placeholders for what the workflow's ML step refers to in other stacks, by the output name's logical ID.
OTHER_STACKS = {
    "ConsumersRole": f"arn:aws:iam::{ACCOUNT}:role/placeholder-ml-consumer",
    "ProcessingJobSecurityGroup": "sg-0123456789abcdef0",
    "IsolatedSubnet1": "subnet-0123456789abcdef1",
    "IsolatedSubnet2": "subnet-0123456789abcdef2",
    # prod's VPC spans three zones (its warehouse needs them), so the job may run in a third subnet
    "IsolatedSubnet3": "subnet-0123456789abcdef3",
    "ModelRegistryTable": "placeholder-model-registry",
}
# The raw zone's table is declared with partition projection: only the curated zone is crawled.
ZONES = ("Curated",)
TASKS = ("CurateEvents", "StartCuratedCrawler", "GetCuratedCrawler")


def render(value: Any) -> str:
    """A template value as the string CloudFormation would make of it, with placeholders for what it cannot know."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(render(part) for part in parts)
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        for name, placeholder in PSEUDO.items():
            text = text.replace(f"${{{name}}}", placeholder)
        return text
    if value.get("Ref") in PSEUDO:
        return PSEUDO[value["Ref"]]
    # A resource of the same template: named by its logical ID.
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Fn::GetStackOutput" in value:
        return _stack_output(value["Fn::GetStackOutput"])
    if "Fn::FindInMap" in value:
        # The image registry's account in the placeholder region (a mapping keyed by AWS::Region).
        return REGISTRY_ACCOUNTS[REGION]
    raise ValueError(f"no placeholder for {value!r}")


# What the Storage stack's outputs hold, named as CDK names a reference: Ref or Fn::GetAtt, construct, hash.
_ZONE_OUTPUT = re.compile(r"^PublishOutput(Ref|FnGetAtt)(RawZone|CuratedZone|QueryResults)Bucket[0-9A-F]{8}")
_ZONE_NAMES = {"RawZone": "raw", "CuratedZone": "curated", "QueryResults": "results"}


def _stack_output(output: dict[str, str]) -> str:
    """Another stack's output as the value it holds once deployed (the names S3 and Glue would give)."""
    name, env = output["OutputName"], output["StackName"].split("-")[1]
    if "Topic" in name:
        return TOPIC
    if "LakeKey" in name:
        return KEY
    if name.startswith("PublishOutputRefCatalogDatabase"):
        return f"ml_data_lake_{env}"
    zone = _ZONE_OUTPUT.match(name)
    if zone:
        bucket = f"ml-data-lake-{env}-{_ZONE_NAMES[zone.group(2)]}-{ACCOUNT}-{REGION}-an"
        return f"arn:aws:s3:::{bucket}" if zone.group(1) == "FnGetAtt" else bucket
    for logical_id, placeholder in OTHER_STACKS.items():
        if logical_id in name:
            return placeholder
    raise ValueError(f"no placeholder for the output {output!r}")


def definition_of(synth: Synthesized) -> dict[str, Any]:
    """The state machine's definition from the Processing template, tokens replaced by placeholders."""
    machines = synth.template("Processing").find_resources("AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    (machine,) = machines.values()
    return dict(json.loads(render(machine["Properties"]["DefinitionString"])))


@pytest.fixture(scope="module")
def definition(sandbox: Synthesized) -> dict[str, Any]:
    return definition_of(sandbox)


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(definition["States"])


def _choice(state: dict[str, Any], variable: str) -> dict[str, Any]:
    return next(rule for rule in state["Choices"] if rule.get("Variable") == variable)


def _happy_path(definition: dict[str, Any]) -> list[str]:
    """The states an execution visits when every crawl is READY and SUCCEEDED at the first poll."""
    states, name, path = definition["States"], definition["StartAt"], []
    while name not in path:
        path.append(name)
        state = states[name]
        if state["Type"] in ("Succeed", "Fail"):
            return path
        name = state["Choices"][0]["Next"] if state["Type"] == "Choice" else state["Next"]
    raise AssertionError(f"the happy path loops at {name}: {path}")


def test_happy_path_curates_then_crawls_curated(definition: dict[str, Any]) -> None:
    assert _happy_path(definition) == [
        "CurateEvents",
        "PrepareCuratedCrawl",
        "StartCuratedCrawler",
        "WaitForCuratedCrawler",
        "GetCuratedCrawler",
        "IsCuratedCrawlerReady",
        "DidCuratedCrawlSucceed",
        "AfterCuratedCrawl",
        "Succeeded",
    ]


def test_every_state_is_reachable_and_every_transition_exists(definition: dict[str, Any]) -> None:
    states = definition["States"]
    seen, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        assert name in states, f"transition to a missing state {name}"
        seen.add(name)
        state = states[name]
        targets = [state.get("Next"), state.get("Default")]
        targets += [rule["Next"] for rule in state.get("Choices", [])]
        targets += [catch["Next"] for catch in state.get("Catch", [])]
        todo += [target for target in targets if target]
    assert seen == set(states)


@pytest.mark.parametrize("zone", ZONES)
def test_crawlers_are_started_and_polled_through_the_glue_api(
    states: dict[str, dict[str, Any]], sandbox: Synthesized, zone: str
) -> None:
    crawler = f"ml-data-lake-{sandbox.settings.name}-{zone.lower()}"
    start, get = states[f"Start{zone}Crawler"], states[f"Get{zone}Crawler"]
    assert start["Resource"] == "arn:aws:states:::aws-sdk:glue:startCrawler"
    assert start["Parameters"] == {"Name": crawler}
    assert get["Resource"] == "arn:aws:states:::aws-sdk:glue:getCrawler"
    assert get["Parameters"] == {"Name": crawler}
    wait = states[f"WaitFor{zone}Crawler"]
    assert (wait["Type"], wait["Seconds"], wait["Next"]) == ("Wait", POLL_INTERVAL.to_seconds(), f"Get{zone}Crawler")


@pytest.mark.parametrize("zone", ZONES)
def test_a_crawler_is_polled_until_ready_with_a_ceiling_on_the_polls(
    states: dict[str, dict[str, Any]], zone: str
) -> None:
    # Given the counter reset before the crawler starts
    prepare = states[f"Prepare{zone}Crawl"]
    assert (prepare["Result"], prepare["ResultPath"], prepare["Next"]) == (
        {"polls": 0},
        "$.crawl",
        f"Start{zone}Crawler",
    )
    ready = states[f"Is{zone}CrawlerReady"]
    # When the crawler is READY, its last crawl is checked
    is_ready = _choice(ready, "$.crawl.status.Crawler.State")
    assert (is_ready["StringEquals"], is_ready["Next"]) == ("READY", f"Did{zone}CrawlSucceed")
    # When it is still running, the counter goes up and the workflow waits again
    count = states[ready["Default"]]
    assert count["Parameters"] == {"polls.$": "States.MathAdd($.crawl.polls, 1)"}
    assert (count["ResultPath"], count["Next"]) == ("$.crawl", f"WaitFor{zone}Crawler")
    # Then after MAX_POLLS polls the crawl counts as hung: reported, then Fail
    ceiling = _choice(ready, "$.crawl.polls")
    assert ceiling["NumericGreaterThanEquals"] == MAX_POLLS
    hung = states[ceiling["Next"]]
    assert hung["Parameters"]["Error"] == "CrawlerDidNotFinish"
    assert "did not finish" in hung["Parameters"]["Cause.$"]
    assert (hung["ResultPath"], hung["Next"]) == ("$.failure", "NotifyFailure")


@pytest.mark.parametrize("zone", ZONES)
def test_a_crawl_that_ended_badly_fails_the_workflow(states: dict[str, dict[str, Any]], zone: str) -> None:
    succeeded = states[f"Did{zone}CrawlSucceed"]
    (rule,) = succeeded["Choices"]
    assert {"Variable": "$.crawl.status.Crawler.LastCrawl.Status", "StringEquals": "SUCCEEDED"} in rule["And"]
    failed = states[succeeded["Default"]]
    assert failed["Parameters"]["Error"] == "CrawlFailed"
    assert failed["Parameters"]["Cause.$"] == "States.JsonToString($.crawl.status.Crawler.LastCrawl)"
    assert failed["Next"] == "NotifyFailure"


@pytest.mark.parametrize("zone", ZONES)
def test_a_crawler_already_running_is_polled_instead_of_failing(states: dict[str, dict[str, Any]], zone: str) -> None:
    start = states[f"Start{zone}Crawler"]
    running = next(c for c in start["Catch"] if c["ErrorEquals"] == ["Glue.CrawlerRunningException"])
    assert running["Next"] == f"WaitFor{zone}Crawler"
    # and it is caught before the catch-all
    assert start["Catch"].index(running) < next(
        i for i, c in enumerate(start["Catch"]) if c["ErrorEquals"] == ["States.ALL"]
    )


def test_the_job_runs_synchronously_with_the_zone_paths(
    states: dict[str, dict[str, Any]], sandbox: Synthesized
) -> None:
    curate = states["CurateEvents"]
    assert curate["Resource"] == "arn:aws:states:::glue:startJobRun.sync"
    assert curate["Parameters"]["JobName"] == f"ml-data-lake-{sandbox.settings.name}-curate-events"
    env = sandbox.settings.name
    assert curate["Parameters"]["Arguments"] == {
        "--raw_path": f"s3://ml-data-lake-{env}-raw-{ACCOUNT}-{REGION}-an/events/",
        "--curated_path": f"s3://ml-data-lake-{env}-curated-{ACCOUNT}-{REGION}-an/events/",
        "--quarantine_path": f"s3://ml-data-lake-{env}-curated-{ACCOUNT}-{REGION}-an/quarantine/",
    }
    assert curate["Next"] == "PrepareCuratedCrawl"


@pytest.mark.parametrize("task", TASKS)
def test_glue_calls_retry_throttling_with_exponential_backoff(states: dict[str, dict[str, Any]], task: str) -> None:
    throttling = next(r for r in states[task]["Retry"] if "Glue.ThrottlingException" in r["ErrorEquals"])
    assert throttling["BackoffRate"] > 1
    assert throttling["MaxAttempts"] >= 3
    assert throttling["JitterStrategy"] == "FULL"


def test_the_job_waits_for_a_run_still_going(states: dict[str, dict[str, Any]]) -> None:
    busy = next(
        r for r in states["CurateEvents"]["Retry"] if r["ErrorEquals"] == ["Glue.ConcurrentRunsExceededException"]
    )
    assert busy["IntervalSeconds"] >= 60
    assert busy["BackoffRate"] > 1


@pytest.mark.parametrize("task", TASKS)
def test_every_task_failure_is_recorded_notified_and_fails(states: dict[str, dict[str, Any]], task: str) -> None:
    # Given any error of the task
    catch_all = next(c for c in states[task]["Catch"] if c["ErrorEquals"] == ["States.ALL"])
    assert catch_all["ResultPath"] == "$.failure"
    # When it is caught, the state's name is recorded with the error and the cause
    record = states[catch_all["Next"]]
    assert record["Type"] == "Pass"
    assert record["Parameters"] == {"State": task, "Error.$": "$.failure.Error", "Cause.$": "$.failure.Cause"}
    # Then the alert topic is told and the execution fails
    assert record["Next"] == "NotifyFailure"
    assert states["NotifyFailure"]["Next"] == "Failed"


def test_the_notification_names_the_execution_the_state_and_the_cause(states: dict[str, dict[str, Any]]) -> None:
    notify = states["NotifyFailure"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"]["TopicArn"] == TOPIC
    message = notify["Parameters"]["Message.$"]
    for field in ("$$.Execution.Id", "$.failure.State", "$.failure.Error", "$.failure.Cause"):
        assert field in message
    # An alert that cannot be sent still ends the execution as failed.
    assert [c["Next"] for c in notify["Catch"]] == ["Failed"]
    assert notify["Retry"][0]["ErrorEquals"] == ["States.TaskFailed"]


def test_failed_carries_the_recorded_error_and_cause(states: dict[str, dict[str, Any]]) -> None:
    failed = states["Failed"]
    assert (failed["Type"], failed["ErrorPath"], failed["CausePath"]) == ("Fail", "$.failure.Error", "$.failure.Cause")


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_an_execution_times_out_after_the_workflow_setting(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    assert definition_of(synth)["TimeoutSeconds"] == synth.settings.workflow.timeout_minutes * 60


def _asl_validator(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        [str(ASL_VALIDATOR), "--json-path", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_asl_validator_accepts_the_definition(definition: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "curation.asl.json"
    path.write_text(json.dumps(definition))
    result = _asl_validator(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(definition: dict[str, Any], tmp_path: Path) -> None:
    # Given the same definition with a transition to a state that does not exist
    broken = json.loads(json.dumps(definition))
    broken["States"]["PrepareCuratedCrawl"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    # Then the validator refuses it (so the test above can fail)
    assert _asl_validator(path).returncode != 0
