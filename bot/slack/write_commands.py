"""``set-limit`` and ``set-cap``: show what will change, then apply it when an admin confirms.

The confirm button carries the plan; its click is checked like a typed command (the admin gate runs
again, the plan is validated again, the connection is looked up in the clicker's workspace).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.domain.commands import SetCap, SetLimit
from bot.messages.message import Message
from bot.messages.writes import CANCEL_ACTION, CONFIRM_ACTION, cap_question, limit_question, write_done
from bot.services.confirmations import AlreadyConfirmed
from bot.services.container import Services
from bot.services.errors import NotAllowed, ServiceError
from bot.services.writes import CapChange, LimitChange, decode, encode
from bot.slack.connections import raw_action_value
from bot.slack.router import Invocation, Router

log = logging.getLogger(__name__)


def confirmation(change: LimitChange | CapChange) -> Message:
    """The question an admin answers before anything is written; its buttons carry the plan."""
    value = encode(change)
    if isinstance(change, LimitChange):
        return limit_question(
            email=change.email,
            connection=change.connection,
            dollars=change.dollars,
            current_cents=change.current_cents,
            known_limit=change.known_limit,
            value=value,
        )
    return cap_question(
        scope=change.scope,
        connection=change.connection,
        credits=change.credits,
        current=change.current,
        value=value,
    )


async def plan_set_limit(invocation: Invocation, command: SetLimit) -> Message:
    change = await invocation.services.writes.plan_limit(invocation.team_id, command.email, command.dollars)
    return confirmation(change)


async def plan_set_cap(invocation: Invocation, command: SetCap) -> Message:
    change = await invocation.services.writes.plan_cap(invocation.team_id, command.scope, command.credits)
    return confirmation(change)


def register_routes(router: Router) -> None:
    """Route ``set-limit`` and ``set-cap`` to the confirmation they answer with."""
    router.deferred(SetLimit, plan_set_limit)
    router.deferred(SetCap, plan_set_cap)


def register(app: AsyncApp, services: Services) -> None:
    """The confirm and cancel buttons of the write confirmations."""

    @app.action(CONFIRM_ACTION)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        team_id = str((body.get("team") or {}).get("id") or "")
        user_id = str((body.get("user") or {}).get("id") or "")
        try:
            change = decode(raw_action_value(body))
            await services.access.require_admin(team_id, user_id, change.op)
            answer = await services.writes.apply(team_id, user_id, change)
        except (NotAllowed, AlreadyConfirmed) as error:
            # Said to the clicker alone: the message keeps showing what was done, or can still be used.
            await respond(response_type="ephemeral", replace_original=False, text=error.message)
            return
        except ServiceError as error:
            await respond(replace_original=True, text=f":x: {error.message}")
            return
        target = change.email if isinstance(change, LimitChange) else change.scope
        done = write_done(
            user_id=user_id, op=change.op, target=target, connection=change.connection, answer=answer
        )
        await respond(replace_original=True, text=done.text, blocks=done.blocks)

    @app.action(CANCEL_ACTION)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        team_id = str((body.get("team") or {}).get("id") or "")
        user_id = str((body.get("user") or {}).get("id") or "")
        try:
            await services.access.require_admin(team_id, user_id, "cancel a write")
        except NotAllowed as error:
            await respond(response_type="ephemeral", replace_original=False, text=error.message)
            return
        await respond(replace_original=True, text="Cancelled: nothing was changed.")
