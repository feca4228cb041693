"""The Processing stack: Glue security configuration, crawlers, the curation job, the workflow's wiring, Athena."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from glue_jobs.curate_events.job import JOB_ARGUMENTS
from infra.schema import EVENT_SCHEMA_FILE
from tests.infra.test_workflow_definition import ACCOUNT, KEY, REGION, TOPIC, render
from tests.synth import Synthesized

ENVS = ["sandbox", "prod"]


def _lake_key(env: str) -> object:
    """The lake key as the Processing stack refers to it: an output of the Core stack."""
    return {
        "Fn::GetStackOutput": Match.object_like(
            {"StackName": f"MlDataLake-{env}-Core", "OutputName": Match.string_like_regexp("LakeKey.*Arn")}
        )
    }


def _zone(env: str, zone: str) -> str:
    return f"ml-data-lake-{env}-{zone}-{ACCOUNT}-{REGION}-an"


def _one(template: Template, resource_type: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    found = template.find_resources(resource_type, {"Properties": Match.object_like(props or {})})
    assert len(found) == 1, f"expected one {resource_type} matching, found {len(found)}"
    (resource,) = found.values()
    return dict(resource["Properties"])


def _statements_of_role(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """Every statement of the managed policies attached to the role whose logical ID starts with `role_prefix`."""
    roles = [
        logical_id for logical_id in template.find_resources("AWS::IAM::Role") if logical_id.startswith(role_prefix)
    ]
    assert len(roles) == 1, roles
    statements = []
    for policy in template.find_resources("AWS::IAM::ManagedPolicy").values():
        if {"Ref": roles[0]} in policy["Properties"].get("Roles", []):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements, f"no managed policy on {roles[0]}"
    return statements


def _grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Action -> every resource it is allowed on (resources rendered with placeholders)."""
    granted: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            granted.setdefault(action, set()).update(render(resource) for resource in resources)
    return granted


# --- Glue security configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_security_configuration_encrypts_s3_logs_and_bookmarks_with_the_lake_key(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    key = _lake_key(env)
    synthesized[env].template("Processing").has_resource_properties(
        "AWS::Glue::SecurityConfiguration",
        {
            "Name": f"ml-data-lake-{env}",
            "EncryptionConfiguration": {
                "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key}],
                "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key},
                "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key},
            },
        },
    )


def test_every_crawler_and_job_runs_with_the_security_configuration(sandbox: Synthesized) -> None:
    template = sandbox.template("Processing")
    (configuration,) = template.find_resources("AWS::Glue::SecurityConfiguration")
    crawlers = template.find_resources("AWS::Glue::Crawler")
    jobs = template.find_resources("AWS::Glue::Job")
    assert len(crawlers) == 1
    assert len(jobs) == 1
    for crawler in crawlers.values():
        assert crawler["Properties"]["CrawlerSecurityConfiguration"] == {"Ref": configuration}
    for job in jobs.values():
        assert job["Properties"]["SecurityConfiguration"] == {"Ref": configuration}


@pytest.mark.parametrize("role", ["CuratedCrawlerRole", "CurateJobRole"])
def test_glue_roles_may_create_encrypted_log_groups_only_under_aws_glue(sandbox: Synthesized, role: str) -> None:
    # Glue creates its log groups as the role and associates the security configuration's key with them.
    grants = _grants(_statements_of_role(sandbox.template("Processing"), role))
    kind = "jobs" if role == "CurateJobRole" else "crawlers"
    groups = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/{kind}*"
    for action in ("logs:CreateLogGroup", "logs:AssociateKmsKey", "logs:CreateLogStream", "logs:PutLogEvents"):
        assert {groups, f"{groups}:*"} <= grants[action]
    assert all(
        resource.startswith(f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws-glue/")
        for resource in grants["logs:AssociateKmsKey"]
    )


# --- Crawlers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "table_prefix", "folders"),
    [("curated", "curated_", ["events/", "quarantine/"])],
)
def test_crawler_catalogs_its_zone_into_the_lake_database(
    sandbox: Synthesized, zone: str, table_prefix: str, folders: list[str]
) -> None:
    env = sandbox.settings.name
    crawler = _one(sandbox.template("Processing"), "AWS::Glue::Crawler", {"Name": f"ml-data-lake-{env}-{zone}"})
    assert render(crawler["DatabaseName"]) == f"ml_data_lake_{env}"
    assert crawler["TablePrefix"] == table_prefix
    targets = crawler["Targets"]["S3Targets"]
    assert [render(target["Path"]) for target in targets] == [f"s3://{_zone(env, zone)}/{f}" for f in folders]
    # Hidden folders and files (Spark's _SUCCESS, the job's _reader_errors) are not cataloged, at any depth.
    assert all(target["Exclusions"] == ["_*", "_*/**", "**/_*", "**/_*/**"] for target in targets)


@pytest.mark.parametrize("zone", ["curated"])
def test_crawler_adds_new_folders_only_and_logs_schema_changes(sandbox: Synthesized, zone: str) -> None:
    crawler = _one(
        sandbox.template("Processing"), "AWS::Glue::Crawler", {"Name": Match.string_like_regexp(f"-{zone}$")}
    )
    # CRAWL_NEW_FOLDERS_ONLY is accepted only with LOG for both behaviours.
    assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    configuration = json.loads(crawler["Configuration"])
    # Each top-level folder is one table; Hive folders below it become partitions with the table's schema.
    assert configuration["Grouping"] == {"TableLevelConfiguration": 2}
    assert configuration["CrawlerOutput"]["Partitions"] == {"AddOrUpdateBehavior": "InheritFromTable"}


@pytest.mark.parametrize(
    ("role", "zone", "folders"),
    [("CuratedCrawlerRole", "curated", ["events", "quarantine"])],
)
def test_crawler_role_reads_only_its_folders_and_writes_only_its_tables(
    sandbox: Synthesized, role: str, zone: str, folders: list[str]
) -> None:
    env = sandbox.settings.name
    template = sandbox.template("Processing")
    trust = template.find_resources("AWS::IAM::Role")
    assert any(
        logical_id.startswith(role)
        and r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "glue.amazonaws.com"}
        for logical_id, r in trust.items()
    )
    grants = _grants(_statements_of_role(template, role))
    bucket = f"arn:aws:s3:::{_zone(env, zone)}"
    assert grants["s3:GetObject"] == {f"{bucket}/{folder}/*" for folder in folders}
    assert grants["s3:ListBucket"] == {bucket}
    # No write to the data, no deletion in the catalog (DeleteBehavior LOG).
    assert not any(action.startswith(("s3:Put", "s3:Delete")) for action in grants)
    assert not any(action.startswith("glue:Delete") or action.startswith("glue:BatchDelete") for action in grants)
    glue_arn = f"arn:aws:glue:{REGION}:{ACCOUNT}"
    assert grants["glue:CreateTable"] == {
        f"{glue_arn}:catalog",
        f"{glue_arn}:database/ml_data_lake_{env}",
        f"{glue_arn}:table/ml_data_lake_{env}/{zone}_*",
    }
    assert grants["kms:Decrypt"] == {KEY}


def test_no_inline_policies(sandbox: Synthesized, prod: Synthesized) -> None:
    # The compliance packs ask for managed policies; every role of the stack uses one.
    for synth in (sandbox, prod):
        assert synth.template("Processing").find_resources("AWS::IAM::Policy") == {}


# --- The curation job ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_job_is_glue_5_1_spark_sized_and_timed_by_the_settings(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    glue = synth.settings.glue
    # cdk.json sizes prod's job differently from sandbox's: a mapping that ignored the settings would fail here.
    assert (glue.worker_count, glue.timeout_minutes) == {"sandbox": (2, 30), "prod": (10, 120)}[env]
    synth.template("Processing").has_resource_properties(
        "AWS::Glue::Job",
        {
            "Name": f"ml-data-lake-{env}-curate-events",
            "GlueVersion": "5.1",
            "Command": Match.object_like({"Name": "glueetl", "PythonVersion": "3"}),
            "WorkerType": glue.worker_type,
            "NumberOfWorkers": glue.worker_count,
            "Timeout": glue.timeout_minutes,
            "MaxRetries": 0,
            "ExecutionProperty": {"MaxConcurrentRuns": 1},
        },
    )


@pytest.fixture(scope="module")
def job(sandbox: Synthesized) -> dict[str, Any]:
    return _one(sandbox.template("Processing"), "AWS::Glue::Job")


def test_job_keeps_bookmarks_metrics_and_continuous_logs(job: dict[str, Any], sandbox: Synthesized) -> None:
    arguments = job["DefaultArguments"]
    assert arguments["--job-bookmark-option"] == "job-bookmark-enable"
    assert "--enable-metrics" in arguments
    assert arguments["--enable-continuous-cloudwatch-log"] == "true"
    (log_group,) = sandbox.template("Processing").find_resources(
        "AWS::Logs::LogGroup",
        {"Properties": {"LogGroupName": f"/aws-glue/jobs/ml-data-lake-{sandbox.settings.name}-curate-events"}},
    )
    assert arguments["--continuous-log-logGroup"] == {"Ref": log_group}


def test_job_log_group_is_encrypted_with_the_lake_key_and_expires(sandbox: Synthesized, prod: Synthesized) -> None:
    for synth in (sandbox, prod):
        env = synth.settings.name
        synth.template("Processing").has_resource_properties(
            "AWS::Logs::LogGroup",
            {
                "LogGroupName": f"/aws-glue/jobs/ml-data-lake-{env}-curate-events",
                "KmsKeyId": _lake_key(env),
                "RetentionInDays": synth.settings.log_retention_days,
            },
        )


def test_job_gets_every_argument_job_py_requires(job: dict[str, Any], sandbox: Synthesized) -> None:
    env = sandbox.settings.name
    arguments = job["DefaultArguments"]
    required = {f"--{name}" for name in JOB_ARGUMENTS if name != "JOB_NAME"}  # Glue adds --JOB_NAME itself
    assert required <= set(arguments)
    arguments = {
        name: render(arguments[name]) for name in ("--raw_path", "--curated_path", "--quarantine_path", "--TempDir")
    }
    assert arguments["--raw_path"] == f"s3://{_zone(env, 'raw')}/events/"
    assert arguments["--curated_path"] == f"s3://{_zone(env, 'curated')}/events/"
    assert arguments["--quarantine_path"] == f"s3://{_zone(env, 'curated')}/quarantine/"
    assert arguments["--TempDir"] == f"s3://{_zone(env, 'curated')}/glue-temp/"


def test_job_receives_the_declared_event_schema(job: dict[str, Any]) -> None:
    argument = job["DefaultArguments"]["--event_schema"]
    # One compact line of JSON (Glue passes arguments on a command line), the same document as the file.
    assert argument == json.dumps(json.loads(argument), separators=(",", ":"), sort_keys=True)
    assert json.loads(argument) == json.loads(EVENT_SCHEMA_FILE.read_text())


def test_job_ships_the_script_the_pure_modules_and_the_device_table_as_assets(
    job: dict[str, Any], sandbox: Synthesized
) -> None:
    script = render(job["Command"]["ScriptLocation"]["Fn::Join"][1][-1])
    assert script.endswith(".py")
    modules = render(job["DefaultArguments"]["--extra-py-files"]["Fn::Join"][1][-1])
    devices = job["DefaultArguments"]["--devices_path"]["Fn::Sub"]
    assert devices.startswith("s3://cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}/")
    assert devices.endswith(".csv")
    # The modules travel as one archive with transforms.py and schema.py at its root, so that job.py's
    # `import transforms` works on Glue (a lone .py asset would be named after its hash).
    assert modules.endswith(".zip")
    staged = sandbox.template_files["Processing"].parent / f"asset.{modules.rsplit('/', 1)[-1].removesuffix('.zip')}"
    assert sorted(path.name for path in staged.iterdir()) == ["schema.py", "transforms.py"]


def test_job_role_reads_raw_events_and_writes_only_curated_prefixes(sandbox: Synthesized) -> None:
    env = sandbox.settings.name
    grants = _grants(_statements_of_role(sandbox.template("Processing"), "CurateJobRole"))
    raw, curated = f"arn:aws:s3:::{_zone(env, 'raw')}", f"arn:aws:s3:::{_zone(env, 'curated')}"
    written = {f"{curated}/events*", f"{curated}/quarantine*", f"{curated}/glue-temp*"}
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert grants[action] == written
    assert f"{raw}/events*" in grants["s3:GetObject"]
    assert not any(resource.startswith(raw) for resource in grants["s3:PutObject"])
    assert {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} <= set(grants)
    assert grants["cloudwatch:PutMetricData"] == {"*"}


def test_job_metrics_are_limited_to_the_glue_namespace(sandbox: Synthesized) -> None:
    statements = _statements_of_role(sandbox.template("Processing"), "CurateJobRole")
    (metrics,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}


# --- The workflow's wiring (its definition: test_workflow_definition.py) ------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_state_machine_logs_everything_encrypted_and_traces(synthesized: dict[str, Synthesized], env: str) -> None:
    synth = synthesized[env]
    template = synth.template("Processing")
    log_group = f"/aws/vendedlogs/states/ml-data-lake-{env}-curation"
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": log_group, "KmsKeyId": _lake_key(env), "RetentionInDays": synth.settings.log_retention_days},
    )
    machine = _one(template, "AWS::StepFunctions::StateMachine")
    assert machine["StateMachineName"] == f"ml-data-lake-{env}-curation"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    logging = machine["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", True)
    (destination,) = logging["Destinations"]
    (group_id,) = template.find_resources("AWS::Logs::LogGroup", {"Properties": {"LogGroupName": log_group}})
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": [group_id, "Arn"]}


def test_state_machine_may_publish_to_the_encrypted_alert_topic(sandbox: Synthesized) -> None:
    grants = _grants(_statements_of_role(sandbox.template("Processing"), "WorkflowRole"))
    assert "sns:Publish" in grants
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(grants)
    assert {"glue:startCrawler", "glue:getCrawler", "glue:StartJobRun", "glue:GetJobRun"} <= set(grants)


@pytest.mark.parametrize("env", ENVS)
def test_schedule_comes_from_the_settings_and_is_enabled_only_where_they_say(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    template = synth.template("Processing")
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine")
    rule = _one(template, "AWS::Events::Rule", {"ScheduleExpression": Match.any_value()})
    assert rule["ScheduleExpression"] == synth.settings.workflow.schedule
    assert rule["State"] == ("ENABLED" if synth.settings.workflow.schedule_enabled else "DISABLED")
    assert rule["Targets"][0]["Arn"] == {"Ref": machine}


def test_glue_job_failures_alert_the_topic(sandbox: Synthesized) -> None:
    env = sandbox.settings.name
    rule = _one(sandbox.template("Processing"), "AWS::Events::Rule", {"EventPattern": Match.any_value()})
    assert rule["EventPattern"] == {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": [f"ml-data-lake-{env}-curate-events"], "state": ["FAILED", "TIMEOUT", "ERROR"]},
    }
    (target,) = rule["Targets"]
    assert render(target["Arn"]) == TOPIC
    assert "RoleArn" in target  # published by a role of this stack: the topic policy in Core stays untouched
    grants = _grants(_statements_of_role(sandbox.template("Processing"), "CurateJobFailureAlertRole"))
    assert grants["sns:Publish"] == {TOPIC}
    assert grants["kms:GenerateDataKey*"] == {KEY}


# --- Athena ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_workgroup_enforces_encrypted_results_a_scan_cutoff_and_metrics(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    workgroup = _one(synth.template("Processing"), "AWS::Athena::WorkGroup")
    assert workgroup["Name"] == f"ml-data-lake-{env}"
    configuration = workgroup["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["PublishCloudWatchMetricsEnabled"] is True
    cutoff_mb = {"sandbox": 1024, "prod": 10240}[env]  # cdk.json's athena.bytes_scanned_cutoff_mb
    assert synth.settings.athena.bytes_scanned_cutoff_mb == cutoff_mb
    assert configuration["BytesScannedCutoffPerQuery"] == cutoff_mb * 1024 * 1024
    results = configuration["ResultConfiguration"]
    assert render(results["OutputLocation"]) == f"s3://{_zone(env, 'results')}/results/"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    key = results["EncryptionConfiguration"]["KmsKey"]["Fn::GetStackOutput"]
    assert key["StackName"] == f"MlDataLake-{env}-Core"
    assert render({"Fn::GetStackOutput": key}) == KEY


def test_named_queries_show_partition_pruning_against_a_full_scan(sandbox: Synthesized) -> None:
    template = sandbox.template("Processing")
    (workgroup,) = template.find_resources("AWS::Athena::WorkGroup")
    queries = {
        q["Properties"]["Name"]: q["Properties"] for q in template.find_resources("AWS::Athena::NamedQuery").values()
    }
    prefix = f"ml-data-lake-{sandbox.settings.name}"
    assert set(queries) == {
        f"{prefix}-curated-one-day-pruned",
        f"{prefix}-curated-one-day-full-scan",
        f"{prefix}-quarantine-reasons",
    }
    for query in queries.values():
        assert render(query["Database"]) == f"ml_data_lake_{sandbox.settings.name}"
        assert query["WorkGroup"] == {"Ref": workgroup}
    pruned = queries[f"{prefix}-curated-one-day-pruned"]["QueryString"]
    full = queries[f"{prefix}-curated-one-day-full-scan"]["QueryString"]
    assert "FROM curated_events" in pruned
    assert "FROM curated_events" in full
    assert "WHERE year = '2026' AND month = '11' AND day = '26'" in pruned
    # The full scan filters the same day on a data column: no partition column in its WHERE clause.
    where = full.split("WHERE", 1)[1].split("GROUP BY")[0]
    assert not any(column in where for column in ("year", "month", "day ", "hour"))
    assert "FROM curated_quarantine" in queries[f"{prefix}-quarantine-reasons"]["QueryString"]


# --- What a user reads --------------------------------------------------------------------------------------------


def test_outputs_name_what_a_user_runs_by_hand(sandbox: Synthesized) -> None:
    outputs = sandbox.json("Processing")["Outputs"]
    assert {
        "StateMachineArn",
        "CurateJobName",
        "CuratedCrawlerName",
        "AthenaWorkGroup",
        "QuarantinePath",
    } <= set(outputs)
    (machine,) = sandbox.template("Processing").find_resources("AWS::StepFunctions::StateMachine")
    assert outputs["StateMachineArn"]["Value"] == {"Ref": machine}
