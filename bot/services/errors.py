"""Errors the services raise for people to read. The Slack layer turns each into a short ephemeral answer.

The Slack layer never sees vendor exceptions: services translate them into these, with a sentence
that says what happened and what to do next.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A problem the person can understand and usually fix; ``message`` is Slack mrkdwn."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class NotAllowed(ServiceError):
    """The person may not do this; the message says who can."""


class NotFound(ServiceError):
    """A connection, subscription, person or period that does not exist (here, for this workspace)."""


class SourceUnavailable(ServiceError):
    """A vendor could not answer (key rejected, down, throttled); the message names the source and why."""
