"""`make cost`: the fixed monthly cost of one environment, read from its synthesized templates.

    python -m tools.cost --env sandbox                 # synthesizes the environment itself
    python -m tools.cost --env prod --templates cdk.out  # or reads what `make synth ENV=prod` wrote

"Fixed" is what the environment costs while idle: customer-managed KMS keys, Kinesis shards (and extended
retention) or on-demand streams, enhanced fan-out consumers per shard, interface endpoints per availability zone,
NAT gateways, CloudTrail data events (at an assumed volume, stated in the output), CloudWatch dashboards and alarms.
Each line names the workload its resources serve (their `Workload` tag, or `workload` Metadata where a type takes no
tags: infra/workload.py). Everything priced per use (Firehose, Lambda, Glue, Step Functions, Athena, S3, CloudWatch
Logs, SNS, DynamoDB on-demand, SQS) is listed with no fixed cost. Prices come from ``tools/prices.json``, which states
their region, date and sources. CloudWatch's always-free allowance (3 dashboards, 10 alarms per account) is
subtracted unless ``--no-free-tier`` says the account already uses it.

A SageMaker Processing run the workflow starts is priced per run, apart from the total. Flink applications and DMS
Serverless replications are created stopped and cost nothing until started; a second table shows what one running
hour of each costs (the Flink application's KPUs, orchestration KPU and running storage; the replication's DCUs at
its minimum capacity), apart from the monthly total. An RDS instance (the CDC unit's sandbox source) is a fixed line:
instance-hours by class and gp3 storage; Secrets Manager secrets are fixed per month.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.config import DEFAULT_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
PRICES = Path(__file__).resolve().parent / "prices.json"

# Resources with no fixed monthly cost, and what their use is priced by.
USAGE_PRICED = {
    "AWS::KinesisFirehose::DeliveryStream": ("Firehose delivery streams", "per GB ingested"),
    "AWS::Lambda::Function": ("Lambda functions", "per request and GB-second"),
    "AWS::Glue::Job": ("Glue jobs", "per DPU-hour"),
    "AWS::Glue::Crawler": ("Glue crawlers", "per DPU-hour"),
    "AWS::Glue::Database": ("Glue databases", "catalog: first million objects free"),
    "AWS::StepFunctions::StateMachine": ("Step Functions state machines", "per state transition"),
    "AWS::Athena::WorkGroup": ("Athena workgroups", "per TB scanned"),
    "AWS::S3::Bucket": ("S3 buckets", "per GB-month and request"),
    "AWS::Logs::LogGroup": ("CloudWatch log groups", "per GB ingested and stored"),
    "AWS::SNS::Topic": ("SNS topics", "per notification"),
    "AWS::EC2::FlowLog": ("VPC flow logs", "per GB delivered"),
    "AWS::Events::Rule": ("EventBridge rules", "AWS service events are free"),
    "AWS::DynamoDB::Table": ("DynamoDB on-demand tables", "per request and GB-month, backups per GB-month"),
    "AWS::KinesisAnalyticsV2::Application": ("Flink applications", "per KPU-hour while started, see below"),
    "AWS::SQS::Queue": ("SQS queues", "per request"),
    "AWS::RedshiftServerless::Workgroup": (
        "Redshift Serverless workgroups",
        "per RPU-hour while queries run, 60 s at least each time, nothing while idle; see below",
    ),
    "AWS::RedshiftServerless::Namespace": ("Redshift Serverless namespaces", "managed storage per GB-month"),
    # The video unit: media per GB in and per GB-month kept, and the labeler's frames, each a GetImages image and a
    # Rekognition DetectLabels image (Rekognition has no resource: its price rides on the stream's line).
    "AWS::KinesisVideo::Stream": ("Kinesis video streams", "per GB ingested and stored; per frame labeled"),
    "AWS::DMS::ReplicationConfig": ("DMS Serverless replications", "per DCU-hour while started, see below"),
    "AWS::DMS::Endpoint": ("DMS endpoints", "free"),
}
# Redshift Serverless bills each run of compute for 60 seconds at least.
REDSHIFT_MINIMUM_SECONDS = 60
# A Step Functions task that runs a SageMaker Processing job: priced per run, not per month.
PROCESSING_JOB = ":sagemaker:createProcessingJob"
# Managed Service for Apache Flink gives each KPU 50 GB of running application storage.
MSF_STORAGE_GB_PER_KPU = 50


@dataclass(frozen=True)
class Price:
    """One entry of the price table."""

    usd: float
    unit: str
    source: str


@dataclass(frozen=True)
class PriceTable:
    """tools/prices.json: prices with their region and date, the CloudWatch free tier and the assumed volumes."""

    region: str
    as_of: str
    hours_per_month: float
    prices: Mapping[str, Price]
    free_dashboards: int
    free_alarms: int
    data_events_per_month: int
    ml_run_minutes: float

    @classmethod
    def load(cls, path: Path = PRICES) -> PriceTable:
        """Read the price table."""
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            region=document["region"],
            as_of=document["as_of"],
            hours_per_month=float(document["hours_per_month"]),
            prices={
                key: Price(float(entry["usd"]), entry["unit"], entry["source"])
                for key, entry in document["prices"].items()
            },
            free_dashboards=int(document["free_tier"]["cloudwatch_dashboards"]),
            free_alarms=int(document["free_tier"]["cloudwatch_alarms"]),
            data_events_per_month=int(document["assumptions"]["cloudtrail_data_events_per_month"]),
            ml_run_minutes=float(document["assumptions"]["ml_processing_run_minutes"]),
        )

    def usd(self, key: str) -> float:
        """The price of one unit of `key`."""
        return self.prices[key].usd


# What a line says when a resource names no workload (a test keeps the project's own templates free of it).
UNNAMED = "unnamed"


@dataclass(frozen=True)
class Line:
    """One row of the estimate."""

    item: str
    quantity: str
    unit_price: str
    usd: float
    workload: str = ""


@dataclass(frozen=True)
class RunCost:
    """One run of a SageMaker Processing job the workflow starts: instance-hours and volume, typical and at most."""

    instance_type: str
    instances: int
    volume_gb: int
    minutes: float
    max_minutes: float
    usd_per_hour: float | None  # None: the price table has no price for this instance type
    usd: float | None
    max_usd: float | None


@dataclass
class Estimate:
    """The fixed monthly cost of one environment, line by line, what costs only when used, and the cost of a run."""

    lines: list[Line] = field(default_factory=list)
    usage_priced: list[str] = field(default_factory=list)
    runs: list[RunCost] = field(default_factory=list)
    # USD per hour while the Flink applications run (they are created stopped, so this is not in the total).
    running: list[Line] = field(default_factory=list)
    # What a query of each warehouse costs (Redshift Serverless bills compute only while queries run).
    queries: list[str] = field(default_factory=list)

    @property
    def running_per_hour(self) -> float:
        """The sum of the running lines: what one hour of every application started costs on top of the total."""
        return round(sum(line.usd for line in self.running), 4)

    @property
    def total(self) -> float:
        """The sum of every line, free-tier credit included, never below zero."""
        return max(0.0, round(sum(line.usd for line in self.lines), 2))


def _resources(templates: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [resource for template in templates.values() for resource in template.get("Resources", {}).values()]


def _plural(count: float, noun: str) -> str:
    number = f"{count:g}"
    return f"{number} {noun}" if count == 1 else f"{number} {noun}s"


def _money(usd: float) -> str:
    """A unit price: cents where they say it all (1.00, 0.10), more digits where needed (0.015)."""
    return f"{usd:.2f}" if round(usd, 2) == usd else f"{usd:g}"


def workload(resource: Mapping[str, Any]) -> str:
    """The workload a template resource serves: its `Workload` tag, else its `workload` Metadata, else UNNAMED."""
    tags = resource.get("Properties", {}).get("Tags")
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, Mapping) and tag.get("Key") == "Workload":
                return str(tag.get("Value"))
    named = resource.get("Metadata", {}).get("workload")
    return str(named) if named else UNNAMED


def _workloads(resources: Sequence[Mapping[str, Any]]) -> str:
    """One workload, or each with how many of the resources serve it: `ingestion (3), curation (2)`."""
    counts = Counter(workload(resource) for resource in resources)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{name} ({count})" for name, count in sorted(counts.items()))


def _is_on_demand(stream: Mapping[str, Any]) -> bool:
    mode: object = stream.get("StreamModeDetails", {}).get("StreamMode")
    return mode == "ON_DEMAND"


def _records_data_events(trail: Mapping[str, Any]) -> bool:
    selectors = trail.get("EventSelectors") or []
    if any(selector.get("DataResources") for selector in selectors):
        return True
    advanced = json.dumps(trail.get("AdvancedEventSelectors") or [])
    return '"Data"' in advanced


def _alarm_period(alarm: Mapping[str, Any]) -> int:
    if "Period" in alarm:
        return int(alarm["Period"])
    periods = [int(m["MetricStat"]["Period"]) for m in alarm.get("Metrics", []) if "MetricStat" in m]
    return min(periods, default=60)


def estimate(
    templates: Mapping[str, Mapping[str, Any]],
    prices: PriceTable,
    *,
    data_events_per_month: int | None = None,
    free_tier: bool = True,
) -> Estimate:
    """The fixed monthly cost of the resources in `templates` ({name: template})."""
    hours = prices.hours_per_month
    resources = _resources(templates)
    # Each resource of a type with its properties, and the whole resource (for its workload).
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    whole: dict[str, list[Mapping[str, Any]]] = {}
    for resource in resources:
        by_type.setdefault(resource["Type"], []).append(resource.get("Properties", {}))
        whole.setdefault(resource["Type"], []).append(resource)
    result = Estimate()

    def add(
        item: str,
        quantity: float,
        noun: str,
        key: str,
        usd: float,
        per_hour: bool = False,
        *,
        serving: Sequence[Mapping[str, Any]],
    ) -> None:
        price = prices.prices[key]
        amount = f"{_plural(quantity, noun)}" + (f" x {hours:g} h" if per_hour else "")
        result.lines.append(Line(item, amount, f"{_money(price.usd)} per {price.unit}", usd, _workloads(serving)))

    keys = len(by_type.get("AWS::KMS::Key", []))
    if keys:
        add(
            "KMS customer-managed keys",
            keys,
            "key",
            "kms_key_month",
            keys * prices.usd("kms_key_month"),
            serving=whole["AWS::KMS::Key"],
        )

    streams = by_type.get("AWS::Kinesis::Stream", [])
    stream_resources = whole.get("AWS::Kinesis::Stream", [])
    provisioned = [s for s in streams if not _is_on_demand(s)]
    provisioned_resources = [r for r in stream_resources if not _is_on_demand(r.get("Properties", {}))]
    shards = sum(int(s.get("ShardCount", 1)) for s in provisioned)
    if shards:
        add(
            "Kinesis provisioned shards",
            shards,
            "shard",
            "kinesis_shard_hour",
            shards * hours * prices.usd("kinesis_shard_hour"),
            per_hour=True,
            serving=provisioned_resources,
        )
    extended = sum(int(s.get("ShardCount", 1)) for s in provisioned if int(s.get("RetentionPeriodHours", 24)) > 24)
    if extended:
        add(
            "Kinesis extended retention (to 7 days)",
            extended,
            "shard",
            "kinesis_extended_retention_shard_hour",
            extended * hours * prices.usd("kinesis_extended_retention_shard_hour"),
            per_hour=True,
            serving=[r for r in provisioned_resources if int(r["Properties"].get("RetentionPeriodHours", 24)) > 24],
        )
    if any(int(s.get("RetentionPeriodHours", 24)) > 168 for s in streams):
        result.usage_priced.append("Kinesis long-term retention beyond 7 days (per GB-month)")
    on_demand = len(streams) - len(provisioned)
    if on_demand:
        add(
            "Kinesis on-demand streams",
            on_demand,
            "stream",
            "kinesis_on_demand_stream_hour",
            on_demand * hours * prices.usd("kinesis_on_demand_stream_hour"),
            per_hour=True,
            serving=[r for r in stream_resources if _is_on_demand(r.get("Properties", {}))],
        )

    consumers = whole.get("AWS::Kinesis::StreamConsumer", [])
    if consumers:
        _add_efo_consumers(result, consumers, shards, prices)

    endpoints = by_type.get("AWS::EC2::VPCEndpoint", [])
    interface = [e for e in endpoints if e.get("VpcEndpointType") == "Interface"]
    # Each subnet of an interface endpoint is in its own availability zone, and each zone is billed.
    endpoint_azs = sum(len(e["SubnetIds"]) if isinstance(e.get("SubnetIds"), list) else 1 for e in interface)
    if endpoint_azs:
        add(
            f"VPC interface endpoints ({len(interface)}, per AZ)",
            endpoint_azs,
            "endpoint-AZ",
            "vpc_interface_endpoint_az_hour",
            endpoint_azs * hours * prices.usd("vpc_interface_endpoint_az_hour"),
            per_hour=True,
            serving=[
                r for r in whole["AWS::EC2::VPCEndpoint"] if r["Properties"].get("VpcEndpointType") == "Interface"
            ],
        )
    if len(endpoints) > len(interface):
        result.usage_priced.append(f"VPC gateway endpoints x{len(endpoints) - len(interface)} (free)")

    nat = len(by_type.get("AWS::EC2::NatGateway", []))
    if nat:
        add(
            "NAT gateways",
            nat,
            "gateway",
            "nat_gateway_hour",
            nat * hours * prices.usd("nat_gateway_hour"),
            per_hour=True,
            serving=whole["AWS::EC2::NatGateway"],
        )

    trails = [t for t in whole.get("AWS::CloudTrail::Trail", []) if _records_data_events(t.get("Properties", {}))]
    if trails:
        events = prices.data_events_per_month if data_events_per_month is None else data_events_per_month
        price = prices.prices["cloudtrail_data_events_100k"]
        result.lines.append(
            Line(
                f"CloudTrail data events (assumed {events:,}/month)",
                f"{_plural(len(trails), 'trail')}, {events / 100_000:g} x 100k events",
                f"{_money(price.usd)} per {price.unit}",
                len(trails) * events / 100_000 * price.usd,
                _workloads(trails),
            )
        )

    _add_databases(result, whole.get("AWS::RDS::DBInstance", []), prices)
    secrets = whole.get("AWS::SecretsManager::Secret", [])
    if secrets:
        add(
            "Secrets Manager secrets",
            len(secrets),
            "secret",
            "secretsmanager_secret_month",
            len(secrets) * prices.usd("secretsmanager_secret_month"),
            serving=secrets,
        )

    dashboards = len(by_type.get("AWS::CloudWatch::Dashboard", []))
    if dashboards:
        add(
            "CloudWatch dashboards",
            dashboards,
            "dashboard",
            "cloudwatch_dashboard_month",
            dashboards * prices.usd("cloudwatch_dashboard_month"),
            serving=whole["AWS::CloudWatch::Dashboard"],
        )
    alarms = whole.get("AWS::CloudWatch::Alarm", [])
    standard_alarms = [a for a in alarms if _alarm_period(a.get("Properties", {})) >= 60]
    standard = len(standard_alarms)
    high_resolution_alarms = [a for a in alarms if _alarm_period(a.get("Properties", {})) < 60]
    composite_alarms = whole.get("AWS::CloudWatch::CompositeAlarm", [])
    for group, item, key in (
        (standard_alarms, "CloudWatch alarms", "cloudwatch_alarm_month"),
        (high_resolution_alarms, "CloudWatch high-resolution alarms", "cloudwatch_high_resolution_alarm_month"),
        (composite_alarms, "CloudWatch composite alarms", "cloudwatch_composite_alarm_month"),
    ):
        if group:
            add(item, len(group), "alarm", key, len(group) * prices.usd(key), serving=group)
    if free_tier and (dashboards or standard):
        free_dashboards = min(dashboards, prices.free_dashboards)
        free_alarms = min(standard, prices.free_alarms)
        credit = free_dashboards * prices.usd("cloudwatch_dashboard_month")
        credit += free_alarms * prices.usd("cloudwatch_alarm_month")
        result.lines.append(
            Line(
                "CloudWatch free tier (per account)",
                f"{_plural(free_dashboards, 'dashboard')}, {_plural(free_alarms, 'alarm')}",
                "always free",
                -credit,
            )
        )

    result.runs = processing_runs(templates, prices)
    result.running = running_cost(whole.get("AWS::KinesisAnalyticsV2::Application", []), prices)
    result.queries = warehouse_queries(by_type.get("AWS::RedshiftServerless::Workgroup", []), prices)
    result.running += replication_cost(whole.get("AWS::DMS::ReplicationConfig", []), prices)
    counts = Counter(resource["Type"] for resource in resources)
    result.usage_priced[:0] = [
        f"{name} x{counts[kind]} ({by})" for kind, (name, by) in USAGE_PRICED.items() if counts[kind]
    ]
    return result


def _definition_text(value: object) -> str:
    """A state machine's DefinitionString as JSON text; a reference (an ARN, a name) becomes a placeholder."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Fn::Join" in value:
        delimiter, parts = value["Fn::Join"]
        return str(delimiter).join(_definition_text(part) for part in parts)
    return "<reference>"


def _processing_states(node: object) -> list[Mapping[str, Any]]:
    """Every Task state that runs a SageMaker Processing job, in nested branches too."""
    if isinstance(node, Mapping):
        found = [node] if PROCESSING_JOB in str(node.get("Resource", "")) else []
        return found + [state for value in node.values() for state in _processing_states(value)]
    if isinstance(node, list):
        return [state for item in node for state in _processing_states(item)]
    return []


def processing_runs(
    templates: Mapping[str, Mapping[str, Any]], prices: PriceTable, *, minutes: float | None = None
) -> list[RunCost]:
    """The cost of one run of each processing job a state machine starts: instance-hours x price, plus its volume."""
    machines = [r for r in _resources(templates) if r["Type"] == "AWS::StepFunctions::StateMachine"]
    states = [
        state
        for machine in machines
        for state in _processing_states(json.loads(_definition_text(machine["Properties"]["DefinitionString"])))
    ]
    return [
        _run_cost(state["Parameters"], prices, prices.ml_run_minutes if minutes is None else minutes)
        for state in states
    ]


def _run_cost(parameters: Mapping[str, Any], prices: PriceTable, minutes: float) -> RunCost:
    """Instances x hours x (instance price + volume GB x the hourly share of the GB-month price)."""
    cluster = parameters["ProcessingResources"]["ClusterConfig"]
    instance_type, instances, volume_gb = (
        cluster["InstanceType"],
        int(cluster["InstanceCount"]),
        int(cluster["VolumeSizeInGB"]),
    )
    max_minutes = int(parameters["StoppingCondition"]["MaxRuntimeInSeconds"]) / 60
    key = f"sagemaker_processing_{instance_type}_hour"
    per_hour = prices.usd(key) if key in prices.prices else None
    volume_per_hour = volume_gb * prices.usd("sagemaker_processing_storage_gb_month") / prices.hours_per_month
    per_instance_hour = None if per_hour is None else per_hour + volume_per_hour
    return RunCost(
        instance_type=str(instance_type),
        instances=instances,
        volume_gb=volume_gb,
        minutes=minutes,
        max_minutes=max_minutes,
        usd_per_hour=per_hour,
        usd=None if per_instance_hour is None else minutes / 60 * instances * per_instance_hour,
        max_usd=None if per_instance_hour is None else max_minutes / 60 * instances * per_instance_hour,
    )


def render_run(run: RunCost) -> str:
    """One sentence: what a run costs, typically and at most, and that it costs nothing while idle."""
    what = f"{run.instances} x {run.instance_type} with {run.volume_gb} GB"
    if run.usd is None or run.max_usd is None or run.usd_per_hour is None:
        return f"One ML processing run ({what}): no price for {run.instance_type} in tools/prices.json; idle: 0.00 USD."
    return (
        f"One ML processing run ({what}, {_money(run.usd_per_hour)} USD per instance-hour): "
        f"{run.usd:.2f} USD at the assumed {run.minutes:g} minutes, at most {run.max_usd:.2f} USD "
        f"(stopped after {run.max_minutes:g} minutes); idle: 0.00 USD."
    )


def _add_efo_consumers(
    result: Estimate, consumers: Sequence[Mapping[str, Any]], shards: int, prices: PriceTable
) -> None:
    """Enhanced fan-out: per consumer and shard while registered (provisioned streams), per GB on on-demand ones.

    Every consumer of the lake reads its one ingest stream, so the provisioned shards are that stream's.
    """
    if not shards:
        result.usage_priced.append("Kinesis enhanced fan-out on on-demand streams (per GB retrieved)")
        return
    price = prices.prices["kinesis_efo_consumer_shard_hour"]
    result.lines.append(
        Line(
            "Kinesis enhanced fan-out consumers",
            f"{_plural(len(consumers) * shards, 'consumer-shard')} x {prices.hours_per_month:g} h",
            f"{_money(price.usd)} per {price.unit}",
            len(consumers) * shards * prices.hours_per_month * price.usd,
            _workloads(consumers),
        )
    )


def warehouse_queries(workgroups: Sequence[Mapping[str, Any]], prices: PriceTable) -> list[str]:
    """What one short query and a GB of loaded data cost on each Redshift Serverless workgroup (its properties)."""
    rpu = prices.prices["redshift_serverless_rpu_hour"]
    storage = prices.prices["redshift_managed_storage_gb_month"]
    notes = []
    for workgroup in workgroups:
        base = int(workgroup.get("BaseCapacity", 128))  # the service's default base capacity
        minimum = base * REDSHIFT_MINIMUM_SECONDS / 3600 * rpu.usd
        notes.append(
            f"Warehouse {workgroup.get('WorkgroupName', 'workgroup')}: idle 0.00 USD; a query of up to "
            f"{REDSHIFT_MINIMUM_SECONDS} s at its {base} base RPUs costs {minimum:.2f} USD ({_money(rpu.usd)} per "
            f"{rpu.unit}, per second, {REDSHIFT_MINIMUM_SECONDS} s at least); loaded data "
            f"{_money(storage.usd)} per {storage.unit}."
        )
    return notes


def running_cost(applications: Sequence[Mapping[str, Any]], prices: PriceTable) -> list[Line]:
    """USD per hour while each Flink application (a template resource) runs: its KPUs, the orchestration KPU, their
    running storage."""
    lines: list[Line] = []
    kpu = prices.prices["msf_kpu_hour"]
    storage = prices.prices["msf_running_storage_gb_month"]
    for application in applications:
        properties = application.get("Properties", {})
        name, serving = properties.get("ApplicationName", "Flink application"), workload(application)
        flink = properties.get("ApplicationConfiguration", {}).get("FlinkApplicationConfiguration", {})
        parallelism = flink.get("ParallelismConfiguration", {})
        kpus = -(-int(parallelism.get("Parallelism", 1)) // int(parallelism.get("ParallelismPerKPU", 1)))
        scaling = " (autoscaling may add more)" if parallelism.get("AutoScalingEnabled") else ""
        per_kpu = f"{_money(kpu.usd)} per {kpu.unit}"
        gigabytes = kpus * MSF_STORAGE_GB_PER_KPU
        lines += [
            Line(f"{name}: KPUs{scaling}", _plural(kpus, "KPU"), per_kpu, kpus * kpu.usd, serving),
            Line(f"{name}: orchestration", "1 KPU", per_kpu, kpu.usd, serving),
            Line(
                f"{name}: running storage",
                f"{gigabytes} GB",
                f"{_money(storage.usd)} per {storage.unit}",
                gigabytes * storage.usd / prices.hours_per_month,
                serving,
            ),
        ]
    return lines


def _add_databases(result: Estimate, instances: Sequence[Mapping[str, Any]], prices: PriceTable) -> None:
    """Each RDS instance: its instance-hours (by class; Multi-AZ doubles them) and its gp3 storage."""
    hours = prices.hours_per_month
    for instance in instances:
        properties = instance.get("Properties", {})
        kind = str(properties.get("DBInstanceClass", "unknown"))
        copies = 2 if properties.get("MultiAZ") else 1
        price = prices.prices.get(f"rds_postgres_{kind}_hour")
        item = f"RDS PostgreSQL {kind}" + (" (Multi-AZ)" if copies == 2 else "")
        if price is None:
            result.lines.append(Line(item, _plural(copies, "instance"), "no price in tools/prices.json", 0.0))
        else:
            result.lines.append(
                Line(
                    item,
                    f"{_plural(copies, 'instance')} x {hours:g} h",
                    f"{_money(price.usd)} per {price.unit}",
                    copies * hours * price.usd,
                    workload(instance),
                )
            )
        gigabytes = int(properties.get("AllocatedStorage", 0)) * copies
        storage = prices.prices["rds_gp3_gb_month"]
        result.lines.append(
            Line(
                f"RDS storage (gp3) of {kind}",
                f"{gigabytes} GB",
                f"{_money(storage.usd)} per {storage.unit}",
                gigabytes * storage.usd,
                workload(instance),
            )
        )


def replication_cost(replications: Sequence[Mapping[str, Any]], prices: PriceTable) -> list[Line]:
    """USD per hour while each DMS Serverless replication (a template resource) runs, at its minimum capacity."""
    price = prices.prices["dms_serverless_dcu_hour"]
    lines: list[Line] = []
    for replication in replications:
        properties = replication.get("Properties", {})
        compute = properties.get("ComputeConfig", {})
        low, high = int(compute.get("MinCapacityUnits", 1)), int(compute.get("MaxCapacityUnits", 1))
        copies = 2 if compute.get("MultiAZ") else 1
        name = properties.get("ReplicationConfigIdentifier", "DMS replication")
        lines.append(
            Line(
                f"{name}: DCUs (scales up to {high}{', Multi-AZ' if copies == 2 else ''})",
                _plural(low * copies, "DCU"),
                f"{_money(price.usd)} per {price.unit}",
                low * copies * price.usd,
                workload(replication),
            )
        )
    return lines


def render(result: Estimate, *, env: str, prices: PriceTable, stacks: int, free_tier: bool) -> str:
    """The estimate as a table, ending with `Total: N USD/month`."""
    header = ("item", "quantity", "unit price (USD)", "USD/month", "workload")
    rows = [(line.item, line.quantity, line.unit_price, f"{line.usd:.2f}", line.workload) for line in result.lines]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]

    def format_row(row: Sequence[str]) -> str:
        return (
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}  {row[4]}"
        ).rstrip()

    lines = [
        f"Fixed monthly cost of {env!r} ({stacks} stacks): {prices.region} list prices as of {prices.as_of}, "
        f"{prices.hours_per_month:g} hours a month",
        "",
        format_row(header),
        *(format_row(row) for row in rows),
        "",
    ]
    if result.usage_priced:
        usage = "Priced only by use, no fixed cost: " + "; ".join(result.usage_priced) + "."
        lines += textwrap.wrap(usage, width=120)
    for run in result.runs:
        lines += textwrap.wrap(render_run(run), width=120)
    for note in result.queries:
        lines += textwrap.wrap(note, width=120)
    if not free_tier:
        lines.append("CloudWatch's free tier is not subtracted (--no-free-tier).")
    if result.running:
        lines += _render_running(result)
    lines.append(f"Total: {result.total:.2f} USD/month")
    return "\n".join(lines)


def _render_running(result: Estimate) -> list[str]:
    """The Flink applications' cost per hour while started; stopped (READY) they cost nothing."""
    header = ("while started (make analytics-start, cdc-start)", "quantity", "unit price (USD)", "USD/hour", "workload")
    rows = [(line.item, line.quantity, line.unit_price, f"{line.usd:.4f}", line.workload) for line in result.running]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    formatted = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}  {row[4]}".rstrip()
        for row in (header, *rows)
    ]
    summary = (
        f"Per running hour: {result.running_per_hour:.4f} USD (a Flink application: 10 minutes at least per start; a "
        "DMS replication: until its capacity is deprovisioned, up to ~48 h after a stop). Stopped, they cost nothing "
        "but the applications' snapshots (per GB-month); the total below assumes them stopped."
    )
    return ["", *formatted, *textwrap.wrap(summary, width=120)]


# --- Templates --------------------------------------------------------------------------------------------------


def read_templates(directory: Path, env: str) -> dict[str, dict[str, Any]]:
    """The environment's templates in a cloud assembly folder (what `make synth ENV=<env>` writes)."""
    files = sorted(directory.glob(f"MlDataLake-{env}-*.template.json"))
    if not files:
        raise FileNotFoundError(
            f"no template of {env!r} in {directory}: run `make synth ENV={env}`, or leave out --templates"
        )
    return {path.name.removesuffix(".template.json"): json.loads(path.read_text(encoding="utf-8")) for path in files}


def synthesize_templates(env: str) -> dict[str, dict[str, Any]]:
    """Synthesize the environment in this process, as `cdk synth` does (the nag packs are not needed for costs)."""
    from infra.synthesis import synthesize

    with tempfile.TemporaryDirectory(prefix="cost-") as outdir:
        synthesis = synthesize(env, Path(outdir), nag=False)
        return {stack_name: synthesis.template(stack_name) for stack_name in synthesis.templates}


def build_parser() -> argparse.ArgumentParser:
    """The command line of `make cost`."""
    parser = argparse.ArgumentParser(prog="python -m tools.cost", description="Estimate an environment's fixed cost.")
    parser.add_argument("--env", default=DEFAULT_ENVIRONMENT, help="environment from cdk.json (%(default)s)")
    parser.add_argument("--templates", type=Path, help="read the templates from this folder instead of synthesizing")
    parser.add_argument("--prices", type=Path, default=PRICES, help="price table (%(default)s)")
    parser.add_argument("--data-events", type=int, help="CloudTrail data events a month (default: the table's)")
    parser.add_argument(
        "--no-free-tier", action="store_true", help="do not subtract CloudWatch's free tier (the account uses it)"
    )
    parser.add_argument(
        "--ml-run-minutes", type=float, help="minutes one ML processing run takes (default: the table's)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print the estimate; 2 when the environment or its templates cannot be found."""
    from infra.config import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    prices = PriceTable.load(args.prices)
    try:
        templates = read_templates(args.templates, args.env) if args.templates else synthesize_templates(args.env)
    except (ConfigError, FileNotFoundError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    free_tier = not args.no_free_tier
    result = estimate(templates, prices, data_events_per_month=args.data_events, free_tier=free_tier)
    if args.ml_run_minutes is not None:
        result.runs = processing_runs(templates, prices, minutes=args.ml_run_minutes)
    print(render(result, env=args.env, prices=prices, stacks=len(templates), free_tier=free_tier))
    return 0


if __name__ == "__main__":
    sys.exit(main())
