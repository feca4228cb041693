"""Video notifier Lambda: an EventBridge rule sends it each frame that shows a watched label; it alerts operators.

Environment: TOPIC_ARN, the lake's alert topic. A failed publish raises, so Lambda retries the event and then keeps
it in the dead-letter queue.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import boto3  # type: ignore[import-untyped, unused-ignore]

if TYPE_CHECKING or __package__:
    from . import frames
else:
    import frames

LOGGER = logging.getLogger("video_notifier")
if "AWS_LAMBDA_LOG_LEVEL" not in os.environ:
    LOGGER.setLevel(logging.INFO)


def handler(event: dict[str, Any], context: object) -> dict[str, str]:
    """Publish one alert for the frame the event describes."""
    subject, message = frames.alert_message(event["detail"])
    response = boto3.client("sns").publish(TopicArn=os.environ["TOPIC_ARN"], Subject=subject, Message=message)
    LOGGER.info("alerted %s %s", subject, response["MessageId"])
    return {"message_id": response["MessageId"]}
