"""``connect``, ``disconnect``, ``connections`` and ``audit``: the routes, the modal's submission and the
buttons. What they show is drawn by ``bot.messages.forms`` (the modals) and ``bot.messages.connections``.

Authorisation never trusts what a view or a button carries: every submission and click is checked
again with the admin gate, for the team and user Slack put in the payload (``team.id``, ``user.id``),
and a connection named in a button is looked up in that team only. ``private_metadata`` holds only
non-secret context (vendor, channel). No key is ever put in a view, a message or a log line.

Slack wants a view submission answered within 3 seconds. The key check gets ``ACK_BUDGET`` seconds; if
it is done by then the answer goes in the acknowledgement (the modal closes on "Connected", or shows
the failure under the key field, keeping what was typed). Otherwise the modal switches to "Checking
the key…" and is updated when the check ends.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.domain.bounded_json import UnreadableValue, loads_bounded
from bot.domain.errors import code_span
from bot.domain.grammar import Audit, Connect, Connections, Disconnect
from bot.domain.vendors import display_name
from bot.messages.connections import (
    CANCEL_DISCONNECT,
    CONFIRM_DISCONNECT,
    ConnectionSummary,
    audit_blocks,
    confirm_blocks,
    connections_blocks,
)
from bot.messages.forms import CONNECT_VIEW, VALUE, checking_view, connect_modal, connected_view, notice_view
from bot.services.confirmations import is_token, new_token
from bot.services.connect import (
    ConnectForm,
    ConnectResult,
    FormErrors,
    default_base_url,
    is_connection_name,
)
from bot.services.container import Services
from bot.services.errors import NotAllowed, NotFound, ServiceError
from bot.slack.router import Invocation, Router

log = logging.getLogger(__name__)

ACK_BUDGET = 2.0
"""Seconds the key check may take before the modal switches to "Checking the key…" (Slack allows 3)."""

FORM_FIELDS = ("name", "key", "account", "base_url", "probe_path", "per_minute", "per_day", "track")


# ---------------------------------------------------------------------------------------------- routes


async def open_connect_form(invocation: Invocation, command: Connect) -> None:
    """Open the modal for the key (the admin gate has run); a taken name is refused before it opens."""
    admin = invocation.services.connection_admin
    name = command.name or command.vendor
    try:
        await admin.check_name(invocation.team_id, name)
    except FormErrors as error:
        raise ServiceError(error.errors["name"]) from None
    if not invocation.trigger_id:
        raise ServiceError("Slack sent no trigger to open the form with; please run the command again.")
    view = connect_modal(
        command.vendor,
        channel_id=invocation.channel_id,
        values={"name": name},
        default_base_url=default_base_url(command.vendor, invocation.services.settings),
    )
    await invocation.client.views_open(trigger_id=invocation.trigger_id, view=view)


async def ask_to_disconnect(invocation: Invocation, command: Disconnect) -> None:
    """Ask to confirm, with buttons; nothing is removed until an admin clicks "Disconnect"."""
    connection = await _removable(invocation.services, invocation.team_id, command.name)
    await invocation.respond(
        response_type="ephemeral",
        text=f"Disconnect {code_span(connection.name)}?",
        blocks=confirm_blocks(connection, disconnect_value(connection.name, new_token())),
    )


async def list_connections(invocation: Invocation, command: Connections) -> None:
    """Every connection of this workspace: who added it, last sync, status, at most a key's last four."""
    rows = await invocation.services.connection_admin.listing(invocation.team_id)
    await invocation.respond(
        response_type="ephemeral",
        text=f"{len(rows)} connection{'s' if len(rows) != 1 else ''}",
        blocks=connections_blocks(rows, command=invocation.command),
    )


async def show_audit(invocation: Invocation, command: Audit) -> None:
    """The last changes and writes in this workspace, newest first."""
    lines = await invocation.services.audit.recent(invocation.team_id)
    await invocation.respond(response_type="ephemeral", text="Audit log", blocks=audit_blocks(lines))


def register_routes(router: Router) -> None:
    """Route ``connect``, ``disconnect``, ``connections`` (shareable: it never shows a key) and ``audit``."""
    router.deferred(Connect, open_connect_form)
    router.deferred(Disconnect, ask_to_disconnect)
    router.deferred(Connections, list_connections, shareable=True)
    router.deferred(Audit, show_audit)


async def _removable(services: Services, team_id: str, name: str) -> ConnectionSummary:
    rows = await services.connection_admin.listing(team_id)
    found = next((row for row in rows if row.name == name), None)
    if found is None:
        known = ", ".join(code_span(row.name) for row in rows) or "none yet"
        raise NotFound(f"There is no connection {code_span(name)} in this workspace. Connections: {known}.")
    if found.origin == "env":
        raise NotAllowed(
            f"{code_span(name)} is configured by the operator in the environment, so it cannot be removed "
            "from Slack. Ask whoever runs spendbot to remove its key from the environment."
        )
    return found


# ---------------------------------------------------------------------------------------------- listeners


def register(app: AsyncApp, services: Services) -> None:
    """Attach the connect form's submission and the disconnect buttons."""
    listeners = _ConnectionListeners(services)
    app.view(CONNECT_VIEW)(listeners.on_connect_submitted)
    app.action(CONFIRM_DISCONNECT)(listeners.on_confirm_disconnect)
    app.action(CANCEL_DISCONNECT)(listeners.on_cancel_disconnect)


class _ConnectionListeners:
    """The connect form's submission and the disconnect buttons, as Bolt listeners (Bolt skips ``self``)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._admin = services.connection_admin

    async def on_connect_submitted(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        started = asyncio.get_running_loop().time()
        team_id, user_id = payload_identity(body)
        try:
            await self._services.access.require_admin(team_id, user_id, "connect")
        except NotAllowed as error:
            await ack(response_action="update", view=notice_view("Not allowed", error.message))
            return
        metadata = _metadata(body)
        vendor = str(metadata.get("vendor") or "")
        submitted = submitted_values(body)
        try:
            form = self._admin.read_form(vendor, submitted)
            await self._admin.check_name(team_id, form.name)
        except FormErrors as error:
            await ack(response_action="errors", errors=_field_errors(error.errors))
            return
        check = asyncio.create_task(self._admin.validate_and_add(team_id, user_id, form))
        budget = max(0.1, ACK_BUDGET - (asyncio.get_running_loop().time() - started))
        done, _ = await asyncio.wait({check}, timeout=budget)
        if check in done:
            answer = _answer_in_ack(check, form)
            await ack(**answer)
            return
        await ack(response_action="update", view=checking_view(form.vendor))
        view = _view_after(await _settled(check), form, self._services, metadata)
        view_id = str((body.get("view") or {}).get("id") or "")
        try:
            await self._services.slack.call(team_id, "views.update", view_id=view_id, view=view)
        except Exception:
            log.exception("could not update the connect form of %s", user_id)

    async def on_confirm_disconnect(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        team_id, user_id = payload_identity(body)
        token, name = read_disconnect_value(raw_action_value(body))
        claimed = False
        try:
            await self._services.access.require_admin(team_id, user_id, "disconnect")
            if not is_connection_name(name):
                await self._services.audit.record(
                    team_id, user_id, "disconnect", name[:64], "failed", "not a name"
                )
                raise NotFound(f"{code_span(name[:64])} is not a connection name.")
            if token is None:
                raise ServiceError(
                    "This confirmation is not valid any more. "
                    f"Run {code_span(self._services.settings.command + ' disconnect ' + name)} again."
                )
            await self._services.confirmations.claim(token, team_id, user_id, "disconnect")
            claimed = True
            removed = await self._admin.remove(team_id, user_id, name)
        except ServiceError as error:
            if claimed:  # nothing was removed: the button may be used again
                await self._services.confirmations.release(token or "")
            await _reply(respond, body, text=error.message, replace_original=False)
            return
        await _reply(
            respond,
            body,
            replace_original=True,
            text=f":white_check_mark: Disconnected {code_span(removed.name)} "
            f"({display_name(removed.vendor)}): its key and history are deleted. <@{user_id}> did it.",
        )

    async def on_cancel_disconnect(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        team_id, user_id = payload_identity(body)
        try:
            await self._services.access.require_admin(team_id, user_id, "disconnect")
        except NotAllowed as error:
            await _reply(respond, body, text=error.message, replace_original=False)
            return
        _, name = read_disconnect_value(raw_action_value(body))
        shown = code_span(name) if is_connection_name(name) else "the connection"
        await _reply(
            respond, body, replace_original=True, text=f"Nothing was changed: {shown} stays connected."
        )


def _answer_in_ack(check: asyncio.Task[ConnectResult], form: ConnectForm) -> dict[str, Any]:
    """The acknowledgement for a key check that ended within the budget."""
    try:
        result = check.result()
    except FormErrors as error:
        return {"response_action": "errors", "errors": _field_errors(error.errors)}
    except Exception:
        reference = secrets.token_hex(4)
        log.exception("connecting %s failed (ref %s)", form.name, reference)
        return {
            "response_action": "errors",
            "errors": {"key": f"Something went wrong on our side (ref {reference}); please try again."},
        }
    if result.failure is not None:
        return {"response_action": "errors", "errors": {"key": result.failure.message}}
    hint = result.connection.key_hint if result.connection is not None else ""
    return {"response_action": "update", "view": connected_view(form.name, form.vendor, hint)}


async def _settled(check: asyncio.Task[ConnectResult]) -> ConnectResult | str:
    """The key check's result, or a sentence saying why there is none."""
    try:
        return await check
    except FormErrors as error:
        return " ".join(error.errors.values())
    except Exception:
        reference = secrets.token_hex(4)
        log.exception("connecting a key failed (ref %s)", reference)
        return f"Something went wrong on our side (ref {reference}); please try again."


def _view_after(
    outcome: ConnectResult | str, form: ConnectForm, services: Services, metadata: Mapping[str, Any]
) -> dict[str, Any]:
    if isinstance(outcome, ConnectResult) and outcome.connection is not None:
        return connected_view(form.name, form.vendor, outcome.connection.key_hint)
    problem = outcome if isinstance(outcome, str) else outcome.failure.message if outcome.failure else ""
    return connect_modal(
        form.vendor.value,
        channel_id=str(metadata.get("channel") or ""),
        values=form_values(form),
        default_base_url=default_base_url(form.vendor, services.settings),
        problem=f"{problem} The key was not saved; paste it again to retry.",
    )


async def _reply(respond: AsyncRespond, body: Mapping[str, Any], **message: Any) -> None:
    """Answer through the payload's ``response_url``; a payload without one gets no answer."""
    if not body.get("response_url"):
        log.info("no response_url to answer %s with", body.get("type"))
        return
    try:
        await respond(response_type="ephemeral", **message)
    except Exception:
        log.exception("could not answer a button click")


# ---------------------------------------------------------------------------------------------- payloads


def payload_identity(body: Mapping[str, Any]) -> tuple[str, str]:
    """(team id, user id) as Slack put them in an interactive payload: the only ones we trust."""
    team = body.get("team")
    user = body.get("user")
    team_id = team.get("id") if isinstance(team, Mapping) else None
    user_id = user.get("id") if isinstance(user, Mapping) else None
    return (team_id if isinstance(team_id, str) else "", user_id if isinstance(user_id, str) else "")


def raw_action_value(body: Mapping[str, Any]) -> str:
    """The clicked button's value as sent ("" when the payload has none: a forged one may have any shape)."""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        value = actions[0].get("value")
        if isinstance(value, str):
            return value
    return ""


def disconnect_value(name: str, token: str) -> str:
    """What the disconnect buttons carry: the confirmation token and the connection name."""
    return f"{token}:{name}"


def read_disconnect_value(value: str) -> tuple[str | None, str]:
    """(token, name) from a disconnect button; the token is None when the value carries none."""
    token, sep, name = value.strip()[:200].partition(":")
    if not sep or not is_token(token):
        return None, value.strip().lower()[:64]
    return token, name.strip().lower()


def submitted_values(body: Mapping[str, Any]) -> dict[str, str | None]:
    """The form's fields as typed, read defensively (a forged payload may have any shape)."""
    view = body.get("view")
    state = view.get("state") if isinstance(view, Mapping) else None
    values = state.get("values") if isinstance(state, Mapping) else None
    found: dict[str, str | None] = {}
    if not isinstance(values, Mapping):
        return found
    for name in FORM_FIELDS:
        block = values.get(name)
        element = block.get(VALUE) if isinstance(block, Mapping) else None
        value = element.get("value") if isinstance(element, Mapping) else None
        found[name] = value if isinstance(value, str) else None
    return found


def _metadata(body: Mapping[str, Any]) -> dict[str, Any]:
    view = body.get("view")
    raw = view.get("private_metadata") if isinstance(view, Mapping) else None
    try:
        parsed = loads_bounded(raw, max_depth=2) if isinstance(raw, str) and raw else {}
    except UnreadableValue:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _field_errors(errors: Mapping[str, str]) -> dict[str, str]:
    """Errors keyed on block ids (one per field); Slack shows each under its field."""
    return {name if name in FORM_FIELDS else "key": message[:2000] for name, message in errors.items()}


def form_values(form: ConnectForm) -> dict[str, str]:
    """The non-secret fields of a form, to show it again (the key is never put back)."""
    values = {"name": form.name, "base_url": form.base_url, "probe_path": form.probe_path}
    if form.per_minute is not None:
        values["per_minute"] = str(form.per_minute)
    if form.per_day is not None:
        values["per_day"] = str(form.per_day)
    if form.track:
        values["track"] = form.track
    if form.account:
        values["account"] = form.account
    return values
