"""Notifications: what they say (:mod:`.message`), how one is sent (:mod:`.webhook`), and
the outbox every one of them leaves through (:mod:`.outbox`)."""

from modelhealth.outputs.notify.message import LEVELS, build_message, models_at_or_above
from modelhealth.outputs.notify.outbox import OutboxRun, notify_night
from modelhealth.outputs.notify.webhook import DeliveryResult, Notification, deliver

__all__ = [
    "LEVELS",
    "DeliveryResult",
    "Notification",
    "OutboxRun",
    "build_message",
    "deliver",
    "models_at_or_above",
    "notify_night",
]
