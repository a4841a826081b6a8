"""``disconnect`` asks first; only an admin's "Disconnect" click removes a key, and never an env one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlmodel import select

from bot.messages.connections import CANCEL_DISCONNECT, CONFIRM_DISCONNECT
from bot.services.container import Services
from bot.settings import Settings
from bot.simulators.cursor import CursorSimulator
from bot.simulators.slack import FakeSlack, SignedRequests
from bot.store.models import SyncState
from tests.connections.conftest import ADMIN, LISTED, OWNER, audit, cursor_form, on_bot, rows, settle
from tests.connections.driver import SlackDriver, answer_text
from tests.support.bot import BotThread


async def _sync_states(services: Services) -> list[SyncState]:
    async with services.db.session() as session:
        return list((await session.exec(select(SyncState))).all())


async def test_disconnect_asks_then_an_admin_click_removes_the_key_and_its_history(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    await slack.submit(cursor_form(cursor_sim, name="team-cursor"), user=ADMIN)
    settle(running)
    assert on_bot(running, _sync_states)  # the first sync left history behind
    asked = await slack.command("disconnect team-cursor", user=OWNER)
    buttons = asked["blocks"][1]["elements"]
    assert [button["action_id"] for button in buttons] == [CONFIRM_DISCONNECT, CANCEL_DISCONNECT]
    (value,) = {button["value"] for button in buttons}
    assert value.endswith(":team-cursor")  # a confirmation token, then the name
    assert "cannot be undone" in answer_text(asked)
    assert [row.name for row in rows(running)] == ["team-cursor"]  # asking changes nothing

    done = await slack.confirm_disconnect("team-cursor", user=LISTED, value=value)
    assert done is not None and done["replace_original"] is True
    assert "Disconnected `team-cursor`" in done["text"]
    assert rows(running) == []
    assert on_bot(running, _sync_states) == []
    assert [(entry.action, entry.user_id, entry.outcome) for entry in audit(running)] == [
        ("connect", ADMIN, "ok"),
        ("disconnect", LISTED, "ok"),
    ]
    again = await slack.confirm_disconnect("team-cursor", user=ADMIN, value=value)  # the same buttons again
    assert "Already done" in answer_text(again)


async def test_an_old_disconnect_click_replayed_after_a_reconnect_removes_nothing(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    asked = await slack.command("disconnect cursor", user=ADMIN)
    value = asked["blocks"][1]["elements"][0]["value"]
    assert "Disconnected" in answer_text(await slack.confirm_disconnect("cursor", user=ADMIN, value=value))
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)  # connected again, under the same name
    settle(running)
    replayed = await slack.confirm_disconnect("cursor", user=ADMIN, value=value)
    assert "Already done" in answer_text(replayed)
    assert [row.name for row in rows(running)] == ["cursor"]


async def test_cancel_keeps_the_connection(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    cancelled = await slack.cancel_disconnect("cursor", user=ADMIN)
    assert cancelled is not None and "Nothing was changed" in cancelled["text"]
    assert [row.name for row in rows(running)] == ["cursor"]


async def test_unknown_names_are_answered_and_odd_button_values_are_not_echoed_raw(
    slack: SlackDriver, running: BotThread
) -> None:
    answer = await slack.command("disconnect nope", user=ADMIN)
    assert "There is no connection `nope`" in answer["text"]
    forged = await slack.confirm_disconnect("<!channel> hi", user=ADMIN)
    said = answer_text(forged)
    assert "<!channel>" not in said and "is not a connection name" in said
    assert [(entry.action, entry.outcome) for entry in audit(running)] == [("disconnect", "failed")]


@pytest.fixture
def env_bot(
    make_settings: Callable[..., Settings], cursor_sim: CursorSimulator, people: None
) -> Iterator[BotThread]:
    settings = make_settings(
        admins=LISTED,
        cursor_api_url=cursor_sim.url,  # type: ignore[attr-defined]
        cursor_api_key=cursor_sim.api_key,
    )
    with BotThread(settings) as bot:
        yield bot


async def test_environment_connections_are_listed_as_such_and_cannot_be_removed_from_slack(
    env_bot: BotThread, signed: SignedRequests, fake_slack: FakeSlack, cursor_sim: CursorSimulator
) -> None:
    slack = SlackDriver(env_bot, signed, fake_slack)
    listed = answer_text(await slack.command("connections", user=ADMIN))
    assert "`cursor`" in listed and "(environment)" in listed
    assert cursor_sim.api_key[:-4] not in listed
    refused = await slack.command("disconnect cursor", user=ADMIN)
    assert "configured by the operator" in refused["text"]
    forged = await slack.confirm_disconnect("cursor", user=ADMIN)
    assert "configured by the operator" in answer_text(forged)
    (row,) = rows(env_bot)
    assert (row.name, row.origin, row.secret_ciphertext) == ("cursor", "env", None)
    assert [(entry.action, entry.outcome) for entry in audit(env_bot)] == [("disconnect", "refused")]
    taken = (await slack.submit(cursor_form(cursor_sim), user=ADMIN))[0].json()
    assert "declared in the environment" in taken["errors"]["name"]
