"""The lake's dead-letter queues: where an event a Lambda still fails on after its retries waits for a rerun."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.guard import acknowledge_control, acknowledge_key_from_another_stack

# SQS's longest: two weeks to look at a failed event and rerun or replay it.
RETENTION = Duration.days(14)


def dead_letter_queue(scope: Construct, *, key: kms.IKey, removal: RemovalPolicy, owner: str) -> sqs.Queue:
    """Queue `DeadLetterQueue` of `scope`: the lake key, TLS only, two weeks' retention; `owner` names what fails into
    it (e.g. "the notifier"), for the reason its own dead-letter control is acknowledged."""
    queue = sqs.Queue(
        scope,
        "DeadLetterQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=RETENTION,
        removal_policy=removal,
    )
    acknowledge_key_from_another_stack(queue, "CT.SQS.PR.2", key=key)
    acknowledge_control(
        queue,
        "CT.SQS.PR.1",
        reason=f"This queue is itself {owner}'s dead-letter queue: it keeps failed events for 14 days and an alarm "
        "fires on the first, so a further queue would only hold the same events again.",
    )
    return queue
