"""``request-limit`` and its Approve / Deny buttons.

Anyone may ask for themselves; only admins decide. The buttons carry only the request's id: what is
applied is read from the stored request of the clicker's workspace, never from the payload. Deny opens a
modal for the reason the person will read; its submission is checked for the admin right again.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.commands import RequestLimit
from bot.messages.message import Message
from bot.messages.requests import (
    APPROVE_ACTION,
    DENY_ACTION,
    DENY_REASON_BLOCK,
    DENY_REASON_INPUT,
    DENY_VIEW,
    asked_answer,
    deny_view,
)
from bot.services.container import Services
from bot.services.errors import ServiceError
from bot.slack.connections import payload_identity, raw_action_value
from bot.slack.router import Invocation, Router

log = logging.getLogger(__name__)


async def request_limit(invocation: Invocation, command: RequestLimit) -> Message:
    asked = await invocation.services.limit_requests.ask(invocation.team_id, invocation.user_id, command)
    return asked_answer(asked.request_id, asked.vendor, asked.amount, asked.unit, asked.channels)


def register_routes(router: Router) -> None:
    router.deferred(RequestLimit, request_limit)


def _request_id(value: object) -> int:
    """A request id from a button or a modal (untrusted: a forged payload may carry anything)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        return int(value)
    raise ServiceError("This request is not valid any more.")


def _reason(body: dict[str, Any]) -> str | None:
    view = body.get("view")
    values = ((view.get("state") or {}).get("values") or {}) if isinstance(view, dict) else {}
    block = values.get(DENY_REASON_BLOCK) if isinstance(values, dict) else None
    element = block.get(DENY_REASON_INPUT) if isinstance(block, dict) else None
    value = element.get("value") if isinstance(element, dict) else None
    return value if isinstance(value, str) else None


def register(app: AsyncApp, services: Services) -> None:
    """The Approve and Deny buttons of a request, and the Deny modal."""
    requests = services.limit_requests

    @app.action(APPROVE_ACTION)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        team_id, user_id = payload_identity(body)
        try:
            await services.access.require_admin(team_id, user_id, "approve a limit request")
            await requests.approve(team_id, user_id, _request_id(raw_action_value(body)))
        except ServiceError as error:  # NotAllowed, AlreadyDecided, a vendor refusal: to the clicker alone
            await respond(response_type="ephemeral", replace_original=False, text=error.message)

    @app.action(DENY_ACTION)
    async def on_deny(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        team_id, user_id = payload_identity(body)
        try:
            await services.access.require_admin(team_id, user_id, "deny a limit request")
            request_id = _request_id(raw_action_value(body))
        except ServiceError as error:
            await respond(response_type="ephemeral", replace_original=False, text=error.message)
            return
        trigger_id = body.get("trigger_id")
        if isinstance(trigger_id, str):
            await client.views_open(trigger_id=trigger_id, view=deny_view(request_id))

    @app.view(DENY_VIEW)
    async def on_deny_submitted(ack: AsyncAck, body: dict[str, Any]) -> None:
        team_id, user_id = payload_identity(body)
        view = body.get("view")
        try:
            await services.access.require_admin(team_id, user_id, "deny a limit request")
            request_id = _request_id(view.get("private_metadata") if isinstance(view, dict) else None)
            await requests.deny(team_id, user_id, request_id, _reason(body))
        except ServiceError as error:
            errors = {DENY_REASON_BLOCK: error.message[:150]}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
