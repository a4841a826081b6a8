"""The read commands: ask a service for the answer, render it. Nothing here talks to a vendor."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.commands import (
    Backtest,
    Credits,
    Export,
    IdleQuery,
    Limits,
    PeopleQuery,
    Spend,
    Status,
    Top,
    UserQuery,
)
from bot.messages.answers import AlertBacktestAnswer
from bot.messages.insights import alert_backtest_message, backtest_message, idle_message
from bot.messages.message import Message
from bot.messages.replies import (
    credits_message,
    export_message,
    limits_message,
    people_message,
    spend_message,
    status_message,
    top_message,
    user_message,
)
from bot.messages.sharing import OPEN_ACTION, SHARE_ACTION
from bot.services.container import Services
from bot.slack.router import Invocation, Router


async def answer_status(invocation: Invocation, command: Status) -> Message:
    return status_message(
        await invocation.services.status_answers.status(invocation.team_id, invocation.user_id)
    )


async def answer_spend(invocation: Invocation, command: Spend) -> Message:
    return spend_message(
        await invocation.services.spend_answers.spend(invocation.team_id, invocation.user_id, command)
    )


async def answer_top(invocation: Invocation, command: Top) -> Message:
    return top_message(
        await invocation.services.spend_answers.top(invocation.team_id, invocation.user_id, command)
    )


async def answer_people(invocation: Invocation, command: PeopleQuery) -> Message:
    return people_message(
        await invocation.services.people_report.answer(invocation.team_id, invocation.user_id, command)
    )


async def answer_idle(invocation: Invocation, command: IdleQuery) -> Message:
    return idle_message(
        await invocation.services.idle_report.answer(invocation.team_id, invocation.user_id, command)
    )


async def answer_backtest(invocation: Invocation, command: Backtest) -> Message:
    answer = await invocation.services.backtests.answer(invocation.team_id, invocation.user_id, command)
    if isinstance(answer, AlertBacktestAnswer):
        return alert_backtest_message(answer)
    return backtest_message(answer)


async def answer_user(invocation: Invocation, command: UserQuery) -> Message:
    return user_message(
        await invocation.services.spend_answers.user(invocation.team_id, invocation.user_id, command)
    )


async def answer_credits(invocation: Invocation, command: Credits) -> Message:
    return credits_message(
        await invocation.services.status_answers.credits(invocation.team_id, invocation.user_id)
    )


async def answer_limits(invocation: Invocation, command: Limits) -> Message:
    return limits_message(
        await invocation.services.status_answers.limits(invocation.team_id, invocation.user_id)
    )


async def answer_export(invocation: Invocation, command: Export) -> Message:
    sent = await invocation.services.exports.send(invocation.team_id, invocation.user_id, command)
    return export_message(sent.filename, sent.rows, sent.period_label, sent.notes)


def register_routes(router: Router) -> None:
    """Route the read commands; all but ``export`` (a file sent by DM) may be shared in the channel."""
    router.deferred(Status, answer_status, shareable=True)
    router.deferred(Spend, answer_spend, shareable=True)
    router.deferred(Top, answer_top, shareable=True)
    router.deferred(PeopleQuery, answer_people, shareable=True)
    router.deferred(IdleQuery, answer_idle, shareable=True)
    router.deferred(Backtest, answer_backtest, shareable=True)
    router.deferred(UserQuery, answer_user, shareable=True)
    router.deferred(Credits, answer_credits, shareable=True)
    router.deferred(Limits, answer_limits, shareable=True)
    router.deferred(Export, answer_export)


def register(app: AsyncApp, services: Services, router: Router) -> None:
    """The "Share in channel" button of read answers: re-run the command through ``router``, post it."""

    @app.action(OPEN_ACTION)
    async def on_open(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        outcome = await router.answer_privately(_clicked(services, body, respond, client))
        services.metrics.commands.labels(name="open", outcome=outcome).inc()

    @app.action(SHARE_ACTION)
    async def on_share(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        outcome = await router.share(_clicked(services, body, respond, client))
        services.metrics.commands.labels(name="share", outcome=outcome).inc()


def _clicked(
    services: Services, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
) -> Invocation:
    """The command a button carries (its value), as the person who clicked it would have typed it."""
    action = (body.get("actions") or [{}])[0]
    return Invocation(
        services=services,
        client=client,
        respond=respond,
        command=services.settings.command,
        text=str(action.get("value") or ""),
        team_id=str((body.get("team") or {}).get("id") or ""),
        user_id=str((body.get("user") or {}).get("id") or ""),
        channel_id=str((body.get("channel") or body.get("container") or {}).get("id") or ""),
    )
