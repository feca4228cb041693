"""The security gate: the cdk-nag packs every stack must pass, and the one way to acknowledge a finding."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

NAG_PACKS: tuple[type[NagPack], ...] = (AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks)

# A rule id as cdk-nag prints it, optionally narrowed to one finding: `AwsSolutions-IAM5[Action::s3:List*]`.
_RULE_ID = re.compile(r"^(AwsSolutions|HIPAA\.Security|NIST\.800\.53\.R5|PCI\.DSS\.321)-[A-Za-z0-9]+(\[.+\])?$")
_MIN_REASON_WORDS = 6


def register_nag_packs(scope: IConstruct) -> None:
    """Run every pack at synthesis; any unacknowledged finding then fails `cdk synth`."""
    Validations.of(scope).add_plugins(*(pack(scope) for pack in NAG_PACKS))


def acknowledge(construct: IConstruct, *rule_ids: str, reason: str) -> None:
    """Accept the findings of these rules on `construct` (and its children), with a reason why they are safe here.

    Pass one rule, or the same check as each pack names it (e.g. the S3 logging rule of all four packs).
    """
    if not rule_ids:
        raise ValueError(f"acknowledge on {construct.node.path}: name at least one rule id")
    for rule_id in rule_ids:
        if not _RULE_ID.match(rule_id):
            raise ValueError(
                f"acknowledge on {construct.node.path}: rule id {rule_id!r} is not a cdk-nag rule id such as "
                "'AwsSolutions-S1' or 'AwsSolutions-IAM5[Action::s3:List*]'"
            )
    require_full_sentence(reason, what=lambda: f"acknowledge {', '.join(rule_ids)} on {construct.node.path}")
    pending = _deferred.get()
    if pending is not None:
        pending.extend(PendingAcknowledgment(construct, rule_id, reason) for rule_id in rule_ids)
        return
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule_id, reason=reason) for rule_id in rule_ids))


def require_full_sentence(reason: str, *, what: str | Callable[[], str]) -> None:
    """Refuse a reason shorter than a sentence: it must say why the finding is safe here, not 'not needed'.

    `what` names the acknowledgment in the error; a function is called only then (a construct's path is two calls into
    the CDK's JavaScript runtime, and an app acknowledges hundreds of findings).
    """
    if len(reason.split()) < _MIN_REASON_WORDS or not reason.rstrip().endswith("."):
        named = what if isinstance(what, str) else what()
        raise ValueError(
            f"{named}: reason {reason!r} must be a full sentence (at least {_MIN_REASON_WORDS} words, ending with a "
            "full stop) saying why the finding is safe here"
        )


@dataclass(frozen=True)
class PendingAcknowledgment:
    """One rule acknowledged on one construct, recorded by `deferred_acknowledgments` and not yet applied."""

    construct: IConstruct
    rule_id: str
    reason: str

    def apply(self) -> None:
        """Acknowledge the rule on the construct, as `acknowledge` does outside `deferred_acknowledgments`."""
        Validations.of(self.construct).acknowledge(Acknowledgment(id=self.rule_id, reason=self.reason))


_deferred: ContextVar[list[PendingAcknowledgment] | None] = ContextVar("_deferred", default=None)


@contextmanager
def deferred_acknowledgments() -> Iterator[list[PendingAcknowledgment]]:
    """Record the acknowledgments made inside the block (building and synthesizing an app) instead of applying them.

    The security report (`make security`) runs the packs first with nothing acknowledged, to see what each
    acknowledgment covers and which no longer covers anything, then applies them and runs the packs again.
    """
    pending: list[PendingAcknowledgment] = []
    token = _deferred.set(pending)
    try:
        yield pending
    finally:
        _deferred.reset(token)
