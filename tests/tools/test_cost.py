"""`make cost`: the fixed monthly cost from templates and the price table, by line and in total."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns

from infra.constructs.ingest_stream import plan_shards
from infra.workload import serves
from tests.synth import Synthesized, units_of
from tools import cost

PRICES = cost.PriceTable.load()


def _alarm(period: int = 300) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": period, "Threshold": 0}}


# Fixed numbers, every priced kind of resource once or more.
TEMPLATES: dict[str, dict[str, Any]] = {
    "MlDataLake-test-Core": {
        "Resources": {
            "Key1": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Key2": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        }
    },
    "MlDataLake-test-Network": {
        "Resources": {
            "Glue": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {"VpcEndpointType": "Interface", "SubnetIds": [{"Ref": "A"}, {"Ref": "B"}]},
            },
            "Kms": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {"VpcEndpointType": "Interface", "SubnetIds": [{"Ref": "A"}, {"Ref": "B"}, {"Ref": "C"}]},
            },
            "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
        }
    },
    "MlDataLake-test-Ingestion": {
        "Resources": {
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 3, "RetentionPeriodHours": 168}},
            "OnDemand": {
                "Type": "AWS::Kinesis::Stream",
                "Properties": {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}, "RetentionPeriodHours": 24},
            },
            "Delivery": {"Type": "AWS::KinesisFirehose::DeliveryStream", "Properties": {}},
            "Transform": {"Type": "AWS::Lambda::Function", "Properties": {}},
        }
    },
    "MlDataLake-test-Storage": {
        "Resources": {
            "Trail": {
                "Type": "AWS::CloudTrail::Trail",
                "Properties": {"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["x"]}]}]},
            },
            "ManagementOnly": {"Type": "AWS::CloudTrail::Trail", "Properties": {}},
        }
    },
    "MlDataLake-test-Monitoring": {
        "Resources": {
            "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
            **{f"Alarm{n}": _alarm() for n in range(12)},
            "Fast": _alarm(period=10),
            "Composite": {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {}},
        }
    },
}


def test_each_fixed_cost_is_priced_from_the_table() -> None:
    # Given templates with known resources
    # When the cost is estimated
    result = cost.estimate(TEMPLATES, PRICES)

    # Then each line is quantity x unit price x 730 hours (or per month)
    assert [(line.item, line.quantity, round(line.usd, 2)) for line in result.lines] == [
        ("KMS customer-managed keys", "2 keys", 2.00),
        ("Kinesis provisioned shards", "3 shards x 730 h", 32.85),
        ("Kinesis extended retention (to 7 days)", "3 shards x 730 h", 43.80),
        ("Kinesis on-demand streams", "1 stream x 730 h", 29.20),
        ("VPC interface endpoints (2, per AZ)", "5 endpoint-AZs x 730 h", 36.50),
        ("NAT gateways", "1 gateway x 730 h", 32.85),
        ("CloudTrail data events (assumed 100,000/month)", "1 trail, 1 x 100k events", 0.10),
        ("CloudWatch dashboards", "1 dashboard", 3.00),
        ("CloudWatch alarms", "12 alarms", 1.20),
        ("CloudWatch high-resolution alarms", "1 alarm", 0.30),
        ("CloudWatch composite alarms", "1 alarm", 0.50),
        ("CloudWatch free tier (per account)", "1 dashboard, 10 alarms", -4.00),
    ]
    assert result.total == 178.30
    # And what is priced only by use is named, with no fixed cost
    assert result.usage_priced == [
        "Firehose delivery streams x1 (per GB ingested)",
        "Lambda functions x1 (per request and GB-second)",
        "SNS topics x1 (per notification)",
        "VPC gateway endpoints x1 (free)",
    ]


def test_without_the_free_tier_and_at_another_volume_of_data_events() -> None:
    result = cost.estimate(TEMPLATES, PRICES, data_events_per_month=5_000_000, free_tier=False)
    lines = {line.item: line.usd for line in result.lines}
    assert "CloudWatch free tier (per account)" not in lines
    assert round(lines["CloudTrail data events (assumed 5,000,000/month)"], 2) == 5.00
    assert result.total == round(178.30 + 4.00 - 0.10 + 5.00, 2)


def test_the_table_ends_with_the_total_line() -> None:
    result = cost.estimate(TEMPLATES, PRICES)
    text = cost.render(result, env="test", prices=PRICES, stacks=len(TEMPLATES), free_tier=True)
    lines = text.splitlines()
    assert lines[0] == (
        "Fixed monthly cost of 'test' (5 stacks): us-east-1 list prices as of 2026-11-26, 730 hours a month"
    )
    assert re.fullmatch(r"item +quantity +unit price \(USD\) +USD/month +workload", lines[2])
    assert re.fullmatch(
        r"Kinesis provisioned shards +3 shards x 730 h +0\.015 per shard-hour +32\.85 +unnamed", lines[4]
    )
    assert lines[-1] == "Total: 178.30 USD/month"


def test_the_command_reads_a_synthesized_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, template in TEMPLATES.items():
        (tmp_path / f"{name}.template.json").write_text(json.dumps(template))
    (tmp_path / "MlDataLake-other-Core.template.json").write_text(json.dumps(TEMPLATES["MlDataLake-test-Core"]))

    assert cost.main(["--env", "test", "--templates", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Total: 178.30 USD/month"

    assert cost.main(["--env", "nope", "--templates", str(tmp_path)]) == 2
    assert "run `make synth ENV=nope`" in capsys.readouterr().err


def test_the_price_table_states_its_region_date_and_sources() -> None:
    document = json.loads(cost.PRICES.read_text())
    assert document["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", document["as_of"])
    for key, price in document["prices"].items():
        assert price["usd"] > 0, key
        assert price["source"].startswith("https://aws.amazon.com/"), key


# --- The project's own environments ------------------------------------------------------------------------------


def _templates(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {f"MlDataLake-{synth.settings.name}-{unit}": synth.json(unit) for unit in units_of(synth.settings.name)}


def test_the_sandbox_stays_under_15_usd_a_month_idle(sandbox: Synthesized) -> None:
    # Given the sandbox as cdk.json defines it
    result = cost.estimate(_templates(sandbox), PRICES)
    items = {line.item: line for line in result.lines}
    # Then it holds one key, one shard, no interface endpoint or NAT gateway, and costs under 15 USD a month
    assert items["KMS customer-managed keys"].quantity == "1 key"
    assert items["Kinesis provisioned shards"].quantity == "1 shard x 730 h"
    assert not any(item.startswith(("VPC interface", "NAT")) for item in items)
    assert result.total < 15, cost.render(result, env="sandbox", prices=PRICES, stacks=6, free_tier=True)


def test_prod_pays_for_its_shards_retention_and_interface_endpoints(prod: Synthesized, sandbox: Synthesized) -> None:
    result = cost.estimate(_templates(prod), PRICES)
    items = {line.item: line for line in result.lines}
    plan = 4  # prod's expected load in cdk.json (3 MB/s, 4,000 records/s, 2 consumers) needs 4 shards
    assert items["Kinesis provisioned shards"].quantity == f"{plan} shards x 730 h"
    assert items["Kinesis extended retention (to 7 days)"].quantity == f"{plan} shards x 730 h"
    # Five endpoints the Glue job calls from the VPC, in its subnet's AZ only; the warehouse's Spectrum shares Glue's
    assert items["VPC interface endpoints (5, per AZ)"].quantity == "5 endpoint-AZs x 730 h"
    assert items["VPC interface endpoints (5, per AZ)"].workload == (
        "curation job in the VPC (4), curation job in the VPC + warehouse: Spectrum reads the catalog (1)"
    )
    assert result.total > cost.estimate(_templates(sandbox), PRICES).total


def test_each_line_names_the_workload_of_its_resources_from_tags_or_metadata() -> None:
    # Given two alarms tagged with different workloads and a dashboard, which takes no tags, named in its metadata
    def tagged(workload: str) -> dict[str, Any]:
        return {**_alarm(), "Properties": {"Period": 300, "Tags": [{"Key": "Workload", "Value": workload}]}}

    templates = {
        "MlDataLake-test-Monitoring": {
            "Resources": {
                "A": tagged("ingestion"),
                "B": tagged("ingestion"),
                "C": tagged("curation"),
                "Board": {
                    "Type": "AWS::CloudWatch::Dashboard",
                    "Properties": {},
                    "Metadata": {"workload": "monitoring"},
                },
            }
        }
    }
    # When the cost is estimated
    lines = {line.item: line.workload for line in cost.estimate(templates, PRICES).lines}
    # Then each line names its workloads, with how many resources serve each when there are several
    assert lines["CloudWatch dashboards"] == "monitoring"
    assert lines["CloudWatch alarms"] == "curation (1), ingestion (2)"


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_every_paid_line_of_the_projects_environments_names_its_workload(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    result = cost.estimate(_templates(synthesized[env]), PRICES)
    paid = [line for line in result.lines if line.usd > 0]
    assert paid
    for line in paid:
        assert line.workload, line
        assert cost.UNNAMED not in line.workload, line


def test_a_workload_name_that_cannot_be_a_tag_value_is_refused() -> None:
    topic = sns.Topic(cdk.Stack(cdk.App(), "Throwaway"), "Topic")
    with pytest.raises(ValueError, match="is not a tag value"):
        serves(topic, "ingestion, delivery")
    serves(topic, "ingestion")
    assert cdk.Stack.of(topic).resolve(cast(sns.CfnTopic, topic.node.default_child).get_metadata("workload")) == (
        "ingestion"
    )


# --- One run of the ML processing job ------------------------------------------------------------------------------


def _machine_with_job(instance_type: str, volume_gb: int, max_seconds: int) -> dict[str, Any]:
    """A state machine whose definition (a Fn::Join, as CDK writes it) runs one processing job in a Parallel branch."""
    job = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "Parameters": {
            "RoleArn": "ROLE",
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": instance_type, "VolumeSizeInGB": volume_gb}
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": max_seconds},
        },
        "End": True,
    }
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [{"StartAt": "J", "States": {"J": job}}], "End": True}},
    }
    text = json.dumps(definition)
    before, after = text.split('"ROLE"')
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "DefinitionString": {"Fn::Join": ["", [before, '"', {"Fn::GetAtt": ["Role", "Arn"]}, '"', after]]}
        },
    }


def test_one_run_costs_instance_hours_and_volume_and_nothing_while_idle() -> None:
    # Given a workflow that runs an ml.m5.xlarge job with 30 GB, stopped after an hour
    templates = {"MlDataLake-test-Processing": {"Resources": {"Machine": _machine_with_job("ml.m5.xlarge", 30, 3600)}}}
    # When the cost is estimated
    result = cost.estimate(templates, PRICES)
    (run,) = result.runs
    # Then a run is 15 minutes x (instance price + 30 GB x the hourly share of the GB-month), at most an hour's worth
    volume_per_hour = 30 * PRICES.usd("sagemaker_processing_storage_gb_month") / 730
    hourly = PRICES.usd("sagemaker_processing_ml.m5.xlarge_hour") + volume_per_hour
    assert run.usd == pytest.approx(0.25 * hourly)
    assert run.max_usd == pytest.approx(hourly)
    # And the fixed monthly cost gains nothing from it
    assert result.total == 0
    text = cost.render(result, env="test", prices=PRICES, stacks=1, free_tier=True)
    assert "One ML processing run (1 x ml.m5.xlarge with 30 GB, 0.23 USD per instance-hour): 0.06 USD" in text
    assert "idle: 0.00 USD." in text


def test_a_run_on_an_instance_type_without_a_price_says_so() -> None:
    templates = {"T": {"Resources": {"Machine": _machine_with_job("ml.m6i.large", 10, 600)}}}
    (run,) = cost.estimate(templates, PRICES).runs
    assert run.usd is None
    assert "no price for ml.m6i.large in tools/prices.json" in cost.render_run(run)


def test_the_sandbox_prices_its_ml_run_from_its_settings(sandbox: Synthesized) -> None:
    (run,) = cost.estimate(_templates(sandbox), PRICES).runs
    settings = sandbox.settings.ml
    assert (run.instance_type, run.volume_gb, run.max_minutes) == (
        settings.instance_type,
        settings.volume_size_gb,
        settings.max_runtime_minutes,
    )
    assert run.usd is not None
    assert 0 < run.usd < 1


# --- Real-time analytics: the consumer's idle cost and the application's running cost -----------------------------

ANALYTICS_TEMPLATES: dict[str, dict[str, Any]] = {
    "MlDataLake-test-Ingestion": {
        "Resources": {"Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 3}}},
    },
    "MlDataLake-test-Analytics": {
        "Resources": {
            "Consumer": {"Type": "AWS::Kinesis::StreamConsumer", "Properties": {"ConsumerName": "a"}},
            "Other": {"Type": "AWS::Kinesis::StreamConsumer", "Properties": {"ConsumerName": "b"}},
            "App": {
                "Type": "AWS::KinesisAnalyticsV2::Application",
                "Properties": {
                    "ApplicationName": "flink-app",
                    "ApplicationConfiguration": {
                        "FlinkApplicationConfiguration": {
                            "ParallelismConfiguration": {"Parallelism": 3, "ParallelismPerKPU": 2}
                        }
                    },
                },
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        }
    },
}


def test_efo_consumers_cost_per_shard_hour_while_they_exist() -> None:
    # Given two enhanced fan-out consumers of a 3-shard stream
    result = cost.estimate(ANALYTICS_TEMPLATES, PRICES, free_tier=False)
    lines = {line.item: line for line in result.lines}
    # Then each consumer pays for each shard, every hour, whether anything reads or not
    efo = lines["Kinesis enhanced fan-out consumers"]
    assert efo.quantity == "6 consumer-shards x 730 h"
    assert round(efo.usd, 2) == round(6 * 730 * 0.015, 2) == 65.70


def test_the_application_costs_nothing_stopped_and_kpus_plus_orchestration_running() -> None:
    result = cost.estimate(ANALYTICS_TEMPLATES, PRICES, free_tier=False)
    # Stopped (as created), it adds nothing to the monthly total: shards and consumers only
    assert result.total == round(3 * 730 * 0.015 + 65.70, 2)
    # Running, 3 tasks at 2 per KPU are 2 KPUs, plus 1 for orchestration, plus 100 GB of running storage
    assert [(line.item, line.quantity, round(line.usd, 4)) for line in result.running] == [
        ("flink-app: KPUs", "2 KPUs", 0.22),
        ("flink-app: orchestration", "1 KPU", 0.11),
        ("flink-app: running storage", "100 GB", round(100 * 0.10 / 730, 4)),
    ]
    assert result.running_per_hour == round(0.33 + 10 / 730, 4)
    assert "Flink applications x1 (per KPU-hour while started, see below)" in result.usage_priced
    text = cost.render(result, env="test", prices=PRICES, stacks=2, free_tier=False)
    assert f"Per running hour: {result.running_per_hour:.4f} USD (a Flink application: 10 minutes at least" in text
    assert max(len(line) for line in text.splitlines()) <= 120
    assert text.splitlines()[-1] == f"Total: {result.total:.2f} USD/month"


def test_efo_on_an_on_demand_stream_is_priced_by_use() -> None:
    templates = {
        "S": {
            "Resources": {
                "Stream": {
                    "Type": "AWS::Kinesis::Stream",
                    "Properties": {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
                },
                "Consumer": {"Type": "AWS::Kinesis::StreamConsumer", "Properties": {}},
            }
        }
    }
    result = cost.estimate(templates, PRICES)
    assert "Kinesis enhanced fan-out consumers" not in {line.item for line in result.lines}
    assert "Kinesis enhanced fan-out on on-demand streams (per GB retrieved)" in result.usage_priced


def test_prod_pays_for_its_consumer_and_shows_its_running_hour(prod: Synthesized) -> None:
    result = cost.estimate(_templates(prod), PRICES)
    items = {line.item: line for line in result.lines}
    shards = plan_shards(prod.settings.kinesis.expected_load()).shards
    assert items["Kinesis enhanced fan-out consumers"].quantity == f"{shards} consumer-shards x 730 h"
    analytics = prod.settings.analytics
    assert result.running[0].item == "ml-data-lake-prod-stream-analytics: KPUs (autoscaling may add more)"
    assert result.running[0].quantity == f"{analytics.kpus} KPUs"
    assert result.running_per_hour == pytest.approx(
        (analytics.kpus + 1) * 0.11 + analytics.kpus * 50 * 0.10 / 730, abs=1e-4
    )


def test_the_sandbox_has_no_consumer_and_no_application_by_default(sandbox: Synthesized) -> None:
    result = cost.estimate(_templates(sandbox), PRICES)
    assert "Kinesis enhanced fan-out consumers" not in {line.item for line in result.lines}
    assert result.running == []


# --- The warehouse -------------------------------------------------------------------------------------------------


def test_the_warehouse_costs_nothing_idle_and_a_minute_of_its_base_rpus_per_query() -> None:
    # Given a workgroup of 8 base RPUs and its namespace
    templates = {
        "MlDataLake-test-Warehouse": {
            "Resources": {
                "Wg": {
                    "Type": "AWS::RedshiftServerless::Workgroup",
                    "Properties": {"WorkgroupName": "ml-data-lake-test", "BaseCapacity": 8},
                },
                "Ns": {"Type": "AWS::RedshiftServerless::Namespace", "Properties": {}},
            }
        }
    }
    # When estimating
    result = cost.estimate(templates, PRICES, free_tier=False)
    # Then nothing is fixed, both are listed as priced by use, and a query costs 60 s of 8 RPUs: 8/60 RPU-hours
    assert result.lines == []
    assert any(line.startswith("Redshift Serverless workgroups x1 (per RPU-hour") for line in result.usage_priced)
    assert "Redshift Serverless namespaces x1 (managed storage per GB-month)" in result.usage_priced
    assert result.queries == [
        "Warehouse ml-data-lake-test: idle 0.00 USD; a query of up to 60 s at its 8 base RPUs costs 0.05 USD "
        "(0.375 per RPU-hour, per second, 60 s at least); loaded data 0.024 per GB-month."
    ]
    assert 8 * 60 / 3600 * PRICES.usd("redshift_serverless_rpu_hour") == pytest.approx(0.05)


def test_prod_lists_its_warehouse_and_the_sandbox_has_none(prod: Synthesized, sandbox: Synthesized) -> None:
    assert [q.split(":")[0] for q in cost.estimate(_templates(prod), PRICES).queries] == ["Warehouse ml-data-lake-prod"]
    assert cost.estimate(_templates(sandbox), PRICES).queries == []


def test_a_video_stream_is_priced_by_use_with_its_labeled_frames() -> None:
    # Given a video stream and its scheduled labeler
    templates = {
        "V": {
            "Resources": {
                "Stream": {"Type": "AWS::KinesisVideo::Stream", "Properties": {"DataRetentionInHours": 720}},
                "Labeler": {"Type": "AWS::Lambda::Function", "Properties": {}},
                "Schedule": {"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(5 minutes)"}},
            }
        }
    }
    result = cost.estimate(templates, PRICES)
    # Then nothing of it is a fixed monthly cost, and the stream is named with what it is priced by
    assert result.total == 0
    assert "Kinesis video streams x1 (per GB ingested and stored; per frame labeled)" in result.usage_priced


# --- Change data capture: the sandbox source is a fixed line, the replication a running one ------------------------


def test_the_cdc_source_is_fixed_and_the_replication_costs_only_while_started(variant: Synthesized) -> None:
    # Given the variant, whose CDC unit creates its PostgreSQL source (db.t4g.micro, 20 GB) and a 1-2 DCU replication
    templates = {f"MlDataLake-variant-{unit}": variant.json(unit) for unit in variant.templates}
    # When it is priced
    result = cost.estimate(templates, PRICES)
    lines = {line.item: line for line in result.lines}
    # Then the instance and its storage are fixed lines naming the CDC workload, and so is its secret
    instance = lines["RDS PostgreSQL db.t4g.micro"]
    assert (instance.quantity, instance.usd) == ("1 instance x 730 h", pytest.approx(730 * 0.016))
    assert instance.workload == "cdc: sandbox PostgreSQL source"
    assert lines["RDS storage (gp3) of db.t4g.micro"].usd == pytest.approx(20 * 0.115)
    assert lines["Secrets Manager secrets"].quantity == "1 secret"
    assert "cdc: DMS reads the source credentials" in lines["VPC interface endpoints (6, per AZ)"].workload
    # And the replication adds nothing to the month, but one running hour at its minimum of 1 DCU
    (replication,) = [line for line in result.running if line.item.startswith("ml-data-lake-variant-cdc")]
    assert (replication.item, replication.quantity, replication.usd) == (
        "ml-data-lake-variant-cdc: DCUs (scales up to 2)",
        "1 DCU",
        PRICES.usd("dms_serverless_dcu_hour"),
    )
    assert "DMS Serverless replications x1 (per DCU-hour while started, see below)" in result.usage_priced


def test_an_instance_class_without_a_price_says_so() -> None:
    templates = {
        "S": {
            "Resources": {
                "Db": {
                    "Type": "AWS::RDS::DBInstance",
                    "Properties": {"DBInstanceClass": "db.r7g.large", "AllocatedStorage": "100", "MultiAZ": True},
                }
            }
        }
    }
    result = cost.estimate(templates, PRICES)
    assert [(line.item, line.unit_price, line.usd) for line in result.lines[:1]] == [
        ("RDS PostgreSQL db.r7g.large (Multi-AZ)", "no price in tools/prices.json", 0.0)
    ]
    assert result.lines[1].usd == pytest.approx(200 * 0.115)
