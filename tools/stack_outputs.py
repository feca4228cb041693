"""The stack outputs `make deploy` writes (`cdk deploy --outputs-file outputs/<env>.json`), looked up by key suffix.

An output's key is its construct ID when it sits directly in a stack, and the construct path plus an 8-character
hash when it sits inside a construct (``WorkflowStateMachineArn1A2B3C4D``). Callers name the ID
(``StateMachineArn``) and get the one output whose key ends with it, hash or not, or an error that says what to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

OUTPUTS_DIR = Path("outputs")


class OutputsError(ValueError):
    """The outputs file is missing or unreadable, or does not hold exactly one output with a wanted suffix."""


def outputs_path(env: str) -> Path:
    """Where `make deploy ENV=<env>` writes the outputs of that environment's stacks."""
    return OUTPUTS_DIR / f"{env}.json"


class StackOutputs:
    """Every output of one environment's stacks: {stack name: {output key: value}}."""

    def __init__(self, outputs: Mapping[str, Mapping[str, str]], *, source: str) -> None:
        self.outputs, self.source = outputs, source

    @classmethod
    def parse(cls, document: object, *, source: str) -> StackOutputs:
        """Check the shape of a parsed outputs file."""
        if not isinstance(document, Mapping) or not all(
            isinstance(stack, Mapping) and all(isinstance(v, str) for v in stack.values())
            for stack in document.values()
        ):
            raise OutputsError(f"{source} is not a CDK outputs file (expected {{stack name: {{output key: value}}}})")
        return cls({str(name): dict(stack) for name, stack in document.items()}, source=source)

    @classmethod
    def load(cls, path: Path, *, env: str) -> StackOutputs:
        """Read an outputs file; a missing one says to deploy first."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OutputsError(
                f"{path} not found: the {env} stacks were not deployed from this checkout; run `make deploy ENV={env}`"
            ) from None
        except OSError as error:
            raise OutputsError(f"{path} cannot be read: {error.strerror}") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise OutputsError(f"{path} is not valid JSON (line {error.lineno}: {error.msg})") from None
        return cls.parse(document, source=str(path))

    def find(self, suffix: str) -> str | None:
        """The value of the one output whose key ends with `suffix`; None if there is none."""
        matches = [
            (stack, key, value)
            for stack, values in self.outputs.items()
            for key, value in values.items()
            if re.fullmatch(rf".*{re.escape(suffix)}(?:[0-9A-F]{{8}})?", key)
        ]
        if len(matches) > 1:
            found = ", ".join(f"{stack}.{key}" for stack, key, _ in matches)
            raise OutputsError(f"{self.source} has several outputs ending with {suffix} ({found})")
        return matches[0][2] if matches else None

    def get(self, suffix: str) -> str:
        """The value of the one output whose key ends with `suffix`; an error naming the stacks if there is none."""
        value = self.find(suffix)
        if value is None:
            stacks = ", ".join(sorted(self.outputs)) or "none"
            raise OutputsError(
                f"{self.source} has no output ending with {suffix} (stacks: {stacks}); "
                "the stacks may predate this output: run `make deploy` again"
            )
        if not value:
            raise OutputsError(f"{self.source}: the output ending with {suffix} is empty")
        return value
