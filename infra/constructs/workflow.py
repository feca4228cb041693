"""The Step Functions workflow that runs the curation job and crawls the curated zone."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.crawlers import ZoneCrawler
from infra.constructs.curate_job import CurateJob
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.workload import serves

# A crawl is polled every POLL_INTERVAL; after MAX_POLLS polls (20 minutes) it counts as hung.
POLL_INTERVAL = Duration.seconds(30)
MAX_POLLS = 40

# Transient Glue API errors: retried with exponential backoff and full jitter.
GLUE_THROTTLING = ("Glue.ThrottlingException", "Glue.OperationTimeoutException", "Glue.InternalServiceException")
# StartJobRun refuses a run while another is still going (the job allows one at a time for its bookmarks).
JOB_BUSY = "Glue.ConcurrentRunsExceededException"
# StartCrawler refuses to start a crawler that is already running; that crawl is as good as ours, so poll it.
CRAWLER_RUNNING = "Glue.CrawlerRunningException"

# Where the workflow keeps what it knows: the current crawl, the job run, and a failure about to be reported.
CRAWL = "$.crawl"
FAILURE = "$.failure"
ALARM_PERIOD = Duration.minutes(5)


class CurationWorkflow(Construct):
    """Curate (Glue job, .sync) → crawl curated; any failure is published to the alert topic, then Fail.

    The raw zone is not crawled: its table is declared from the event schema, with partition projection
    (infra/constructs/raw_events_table.py), so there is nothing a crawl of it would add. A time-out is not caught
    inside the workflow, so an alarm on timed-out executions reports it.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        curate_job: CurateJob,
        curated_crawler: ZoneCrawler,
        alerts: AlertTarget,
        key: kms.IKey,
        timeout: Duration,
        schedule: str,
        schedule_enabled: bool,
        log_retention_days: int,
        removal: RemovalPolicy,
        after_curated_crawl: sfn.IChainable | None = None,
    ) -> None:
        super().__init__(scope, id)
        serves(self, "curation")
        self._failed = sfn.Fail(
            self,
            "Failed",
            comment="The failure was reported to the alert topic.",
            error_path="$.failure.Error",
            cause_path="$.failure.Cause",
        )
        self._notify = self._notification(alerts.topic, workflow=name)
        start = self._curate(curate_job, then=self._crawl_curated(curated_crawler, after=after_curated_crawl))
        self.log_group = encrypted_log_group(
            self,
            "Logs",
            key=key,
            retention_days=log_retention_days,
            removal=removal,
            # Under /aws/vendedlogs/ CloudWatch Logs does not grow the account's 5,120-character resource policy
            # for every state machine that logs.
            log_group_name=f"/aws/vendedlogs/states/{name}",
        )
        self.role = self._role(name, key=key)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            role=self.role,
            comment="Curate the raw zone with the Glue job, crawl the curated zone; alert on failure.",
            definition_body=sfn.DefinitionBody.from_chainable(start),
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        self.schedule = self._schedule(name, schedule=schedule, enabled=schedule_enabled)
        self.timed_out_alarm = self._alarm_on_timeouts(alerts)

    def _alarm_on_timeouts(self, alerts: AlertTarget) -> cloudwatch.Alarm:
        """A time-out ends an execution without passing through the failure notification: an alarm reports it."""
        return alarm(
            self,
            "TimedOutAlarm",
            alerts=alerts,
            name="workflow-timed-out",
            metric=self.state_machine.metric_timed_out(statistic=cloudwatch.Stats.SUM, period=ALARM_PERIOD),
            threshold=0,
            description=(
                "A curation workflow execution reached its timeout; the workflow's own failure alert does not cover "
                "timeouts. See the execution in the Step Functions console."
            ),
        )

    def _role(self, name: str, *, key: kms.IKey) -> ManagedPolicyRole:
        """The state machine's role; the tasks add their own grants to it."""
        role = ManagedPolicyRole(
            self, "Role", service="states.amazonaws.com", description=f"Runs {name}: crawlers, the job, alerts."
        )
        # The alert topic is encrypted with the lake key: publishing to it takes a data key (SnsPublish grants only
        # sns:Publish).
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn])
        )
        role.acknowledge_wildcard_resources(
            "*",
            reason="Step Functions delivers logs through CloudWatch Logs' vended-log APIs and X-Ray traces, "
            "neither of which accepts a resource narrower than '*'.",
        )
        return role

    def _schedule(self, name: str, *, schedule: str, enabled: bool) -> events.Rule:
        """Runs the workflow on its schedule (through a role of its own), when the settings turn it on."""
        return events.Rule(
            self,
            "Schedule",
            description=f"Runs {name} on its schedule.",
            schedule=events.Schedule.expression(schedule),
            enabled=enabled,
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    role=ManagedPolicyRole(
                        self, "ScheduleRole", service="events.amazonaws.com", description=f"Starts {name}."
                    ),
                    retry_attempts=3,
                )
            ],
        )

    def _curate(self, job: CurateJob, *, then: sfn.IChainable) -> sfn.IChainable:
        """Run the curation job and wait for it; retry while another run holds the job or Glue throttles."""
        curate = tasks.GlueStartJobRun(
            self,
            "CurateEvents",
            glue_job_name=job.name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,  # .sync: wait for the run to end
            arguments=sfn.TaskInput.from_object({f"--{argument}": path for argument, path in job.paths.items()}),
            result_selector={"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
            result_path="$.curation",
            comment="Raw events to curated Parquet; bad rows to quarantine.",
        )
        curate.add_retry(
            errors=[JOB_BUSY],
            interval=Duration.minutes(1),
            max_attempts=5,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        _retry_throttling(curate)
        self._on_failure(curate, "CurateEvents")
        return curate.next(then)

    def _crawl_curated(self, crawler: ZoneCrawler, *, after: sfn.IChainable | None) -> sfn.IChainable:
        """Crawl the curated zone, then run what comes after it (the ML unit's job), then succeed."""
        succeeded = sfn.Succeed(self, "Succeeded", comment="The curated zone up to date and crawled.")
        then = succeeded if after is None else self._after_curated_crawl(after, succeeded)
        return self._crawl("Curated", crawler, then=then)

    def _notification(self, topic: sns.ITopic, *, workflow: str) -> sfn.IChainable:
        """One SNS message per failed execution: which execution, which state, the error and its cause."""
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=topic,
            subject=f"{workflow} failed",
            message=sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "Execution {} of {} failed in state {}. Error: {}. Cause: {}",
                    sfn.JsonPath.string_at("$$.Execution.Id"),
                    sfn.JsonPath.string_at("$$.StateMachine.Name"),
                    sfn.JsonPath.string_at("$.failure.State"),
                    sfn.JsonPath.string_at("$.failure.Error"),
                    sfn.JsonPath.string_at("$.failure.Cause"),
                )
            ),
            result_path=sfn.JsonPath.DISCARD,
            comment="Tell the alert topic, then fail the execution.",
        )
        notify.add_retry(
            errors=[sfn.Errors.TASKS_FAILED],
            interval=Duration.seconds(2),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # If even the alert cannot be sent, fail anyway: the execution's own status and logs still record it.
        notify.add_catch(self._failed, errors=[sfn.Errors.ALL], result_path="$.notifyError")
        return notify.next(self._failed)

    def _after_curated_crawl(self, step: sfn.IChainable, then: sfn.IChainable) -> sfn.IChainable:
        """Run `step` (e.g. the ML job) as the one branch of a Parallel state, so any error in it is reported."""
        run = sfn.Parallel(
            self,
            "AfterCuratedCrawl",
            comment="Consumers of the freshly crawled curated zone.",
            result_path=sfn.JsonPath.DISCARD,
        ).branch(step)
        self._on_failure(run, "AfterCuratedCrawl")
        return run.next(then)

    def _on_failure(self, task: sfn.TaskStateBase | sfn.Parallel, state: str) -> None:
        """Catch every error of `task`, record which state failed, and go to the notification."""
        record = sfn.Pass(
            self,
            f"{state}Failed",
            comment=f"Record that {state} failed.",
            parameters={"State": state, "Error.$": "$.failure.Error", "Cause.$": "$.failure.Cause"},
            result_path=FAILURE,
        ).next(self._notify)
        task.add_catch(record, errors=[sfn.Errors.ALL], result_path=FAILURE)

    def _failure(self, id: str, *, state: str, error: str, cause: str) -> sfn.IChainable:
        """A failure the workflow detects itself (not an error of a task): record it and notify."""
        return sfn.Pass(
            self,
            id,
            parameters={"State": state, "Error": error, "Cause.$": cause},
            result_path=FAILURE,
        ).next(self._notify)

    def _crawl(self, zone: str, crawler: ZoneCrawler, *, then: sfn.IChainable) -> sfn.IChainable:
        """Start `crawler`, poll it until READY (at most MAX_POLLS times), check that its crawl succeeded."""
        start_state, get_state = f"Start{zone}Crawler", f"Get{zone}Crawler"
        prepare = sfn.Pass(
            self,
            f"Prepare{zone}Crawl",
            comment=f"Reset the poll counter of {crawler.name}.",
            result=sfn.Result.from_object({"polls": 0}),
            result_path=CRAWL,
        )
        start = tasks.CallAwsService(
            self,
            start_state,
            service="glue",
            action="startCrawler",
            parameters={"Name": crawler.name},
            iam_resources=[crawler.arn],
            result_path=sfn.JsonPath.DISCARD,
            comment=f"Start {crawler.name}.",
        )
        wait = sfn.Wait(self, f"WaitFor{zone}Crawler", time=sfn.WaitTime.duration(POLL_INTERVAL))
        get = tasks.CallAwsService(
            self,
            get_state,
            service="glue",
            action="getCrawler",
            parameters={"Name": crawler.name},
            iam_resources=[crawler.arn],
            result_selector={"Crawler.$": "$.Crawler"},
            result_path=f"{CRAWL}.status",
            comment=f"Read the state of {crawler.name}.",
        )
        for task in (start, get):
            _retry_throttling(task)
        # Already running (started by hand or by an earlier execution): wait for that crawl instead.
        start.add_catch(wait, errors=[CRAWLER_RUNNING], result_path=sfn.JsonPath.DISCARD)
        self._on_failure(start, start_state)
        self._on_failure(get, get_state)
        wait.next(get).next(self._check_crawl(zone, crawler, get_state=get_state, poll_again=wait, then=then))
        return prepare.next(start).next(wait)

    def _check_crawl(
        self, zone: str, crawler: ZoneCrawler, *, get_state: str, poll_again: sfn.IChainable, then: sfn.IChainable
    ) -> sfn.IChainable:
        """READY and SUCCEEDED: go on; READY otherwise: fail; still running: count the poll and wait, or give up."""
        status = f"{CRAWL}.status.Crawler"
        succeeded = (
            sfn.Choice(self, f"Did{zone}CrawlSucceed")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present(f"{status}.LastCrawl.Status"),
                    sfn.Condition.string_equals(f"{status}.LastCrawl.Status", "SUCCEEDED"),
                ),
                then,
            )
            .otherwise(
                self._failure(
                    f"{zone}CrawlFailed",
                    state=get_state,
                    error="CrawlFailed",
                    cause=f"States.JsonToString({status}.LastCrawl)",
                )
            )
        )
        count = sfn.Pass(
            self,
            f"Count{zone}CrawlerPoll",
            parameters={"polls.$": f"States.MathAdd({CRAWL}.polls, 1)"},
            result_path=CRAWL,
        )
        return (
            sfn.Choice(self, f"Is{zone}CrawlerReady")
            .when(sfn.Condition.string_equals(f"{status}.State", "READY"), succeeded)
            .when(
                sfn.Condition.number_greater_than_equals(f"{CRAWL}.polls", MAX_POLLS),
                self._failure(
                    f"{zone}CrawlerHung",
                    state=get_state,
                    error="CrawlerDidNotFinish",
                    cause=f"States.Format('crawler {crawler.name} did not finish after {{}} polls', {CRAWL}.polls)",
                ),
            )
            .otherwise(count.next(poll_again))
        )


def _retry_throttling(task: sfn.TaskStateBase) -> None:
    """Retry transient Glue API errors with exponential backoff and full jitter."""
    task.add_retry(
        errors=list(GLUE_THROTTLING),
        interval=Duration.seconds(5),
        max_attempts=5,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
