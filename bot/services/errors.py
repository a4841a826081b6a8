"""Errors the services raise for people to read. The Slack layer turns each into a short ephemeral answer.

The Slack layer never sees vendor exceptions: services translate them into these, with a sentence
that says what happened and what to do next.
"""

from __future__ import annotations

from bot.domain.errors import SpendbotError


class ServiceError(SpendbotError):
    """A problem the person can understand and usually fix; ``message`` is Slack mrkdwn.

    ``wrong_input`` marks a problem with what the person typed (an id that names nothing, a digest
    asked to snooze): the Slack layer answers it like a parse error, with the command's right form
    and an example.
    """

    def __init__(self, message: str, *, wrong_input: bool = False) -> None:
        self.message = message
        self.wrong_input = wrong_input
        super().__init__(message)


class NotAllowed(ServiceError):
    """The person may not do this; the message says who can."""


class NotFound(ServiceError):
    """A connection, subscription, person or period that does not exist (here, for this workspace)."""


class SourceUnavailable(ServiceError):
    """A vendor could not answer (key rejected, down, throttled); the message names the source and why."""
