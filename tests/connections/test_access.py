"""Who may do what: every admin command, button and modal submission is refused to others, and audited.

The commands are read from the grammar's registry and the routes this build registers, so an admin
command added later (subscribe, set-limit…) is covered here without touching this file.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel

from bot.app import build_router
from bot.domain.grammar import COMMANDS
from bot.services.container import Services
from bot.simulators.cursor import CursorSimulator
from bot.simulators.slack import FakeSlack
from tests.connections.conftest import ADMIN, ADMINS, MEMBER, TEAM, audit, cursor_form, on_bot, rows, settle
from tests.connections.driver import SlackDriver, answer_text
from tests.support.bot import BotThread

REFUSAL = "only a workspace admin or owner"
UNAUDITED_TABLES = {"audit_entries", "slack_oauth_states", "alembic_version"}


def admin_commands() -> list[tuple[str, str]]:
    """(name, an example) of every admin-only sub-command this build answers."""
    available = set(build_router().available())
    return [(spec.name, spec.examples[0]) for spec in COMMANDS if spec.admin_only and spec.name in available]


def snapshot(bot: BotThread) -> dict[str, list[Any]]:
    """Every row of every table but the audit log: what "nothing changed" is checked against."""

    async def read(services: Services) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {}
        async with services.db.engine.connect() as connection:
            for table in SQLModel.metadata.sorted_tables:
                if table.name in UNAUDITED_TABLES:
                    continue
                result = await connection.execute(text(f'SELECT * FROM "{table.name}"'))  # noqa: S608
                found[table.name] = sorted(repr(tuple(row)) for row in result.all())
        return found

    result: dict[str, list[Any]] = on_bot(bot, read)
    return result


def test_the_admin_commands_of_the_design_are_routed() -> None:
    names = {name for name, _ in admin_commands()}
    assert {"connect", "disconnect", "audit"} <= names


async def test_a_member_is_refused_every_admin_command_politely_and_nothing_changes(
    slack: SlackDriver, running: BotThread, fake_slack: FakeSlack, cursor_sim: CursorSimulator
) -> None:
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    settle(running)
    before = snapshot(running)
    fake_slack.reset_records()
    for name, example in admin_commands():
        said = await slack.outcome(example, user=MEMBER)
        assert REFUSAL in said, (name, said)
        assert f"`{name}`" in said, (name, said)
        assert "SPENDBOT_ADMINS" in said  # says who can do it
    assert snapshot(running) == before
    assert fake_slack.calls("views.open") == []
    assert fake_slack.calls("chat.postMessage") == []
    refused = [(entry.action, entry.user_id) for entry in audit(running) if entry.outcome == "refused"]
    assert refused == [(name, MEMBER) for name, _ in admin_commands()]


async def test_admins_owners_and_listed_people_are_let_through_every_admin_command(
    slack: SlackDriver, running: BotThread
) -> None:
    for user in ADMINS:
        for name, example in admin_commands():
            said = await slack.outcome(example, user=user)
            assert REFUSAL not in said, (user, name, said)
    assert not [entry for entry in audit(running) if entry.outcome == "refused"]


async def test_a_forged_view_submission_from_a_member_is_refused_before_the_key_is_tried(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    response, _ = await slack.submit(cursor_form(cursor_sim), user=MEMBER)
    answer = response.json()
    assert answer["response_action"] == "update"
    assert REFUSAL in json.dumps(answer)
    assert rows(running) == []
    assert cursor_sim.stats.requests_total == 0
    (entry,) = audit(running)
    assert (entry.action, entry.user_id, entry.outcome) == ("connect", MEMBER, "refused")


async def test_a_submission_naming_an_admin_of_another_workspace_is_refused(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    # ADMIN administers T0001; a payload from T0002 carrying that user id proves nothing there. In
    # single-token mode the bot serves only its token's workspace: the payload is refused at the gate.
    response, _ = await slack.submit(cursor_form(cursor_sim), user=ADMIN, team="T0002")
    assert response.status_code == 403
    assert rows(running) == []
    assert cursor_sim.stats.requests_total == 0


async def test_forged_disconnect_buttons_from_a_member_are_refused_and_change_nothing(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    settle(running)
    before = snapshot(running)
    confirm = await slack.confirm_disconnect("cursor", user=MEMBER)
    assert REFUSAL in answer_text(confirm)
    assert confirm is not None and not confirm.get("replace_original")
    cancel = await slack.cancel_disconnect("cursor", user=MEMBER)
    assert REFUSAL in answer_text(cancel)
    # An admin, but of another workspace: refused at the gate (single-token mode serves one workspace).
    await slack.confirm_disconnect("cursor", user=ADMIN, team="T0002", status=403)
    assert snapshot(running) == before
    assert [row.name for row in rows(running)] == ["cursor"]
    refused = [(entry.action, entry.outcome) for entry in audit(running)][1:]
    assert refused == [("disconnect", "refused"), ("disconnect", "refused")]
    assert audit(running, "T0002") == []


async def test_the_admin_right_is_checked_again_at_every_click(
    slack: SlackDriver, running: BotThread, fake_slack: FakeSlack, cursor_sim: CursorSimulator
) -> None:
    fake_slack.add_user("UDEMOTED", is_admin=True)
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    asked = await slack.command("disconnect cursor", user="UDEMOTED")
    assert "Disconnect" in answer_text(asked)
    fake_slack.users["UDEMOTED"].is_admin = False  # demoted while the buttons are on screen
    on_bot(running, _forget_cached_users)
    confirm = await slack.confirm_disconnect("cursor", user="UDEMOTED")
    assert REFUSAL in answer_text(confirm)
    assert [row.name for row in rows(running)] == ["cursor"]


async def _forget_cached_users(services: Services) -> None:
    services.slack.forget_team(TEAM)


async def test_everyone_may_list_connections_but_never_sees_a_key(
    slack: SlackDriver, running: BotThread, cursor_sim: CursorSimulator
) -> None:
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    answer = await slack.command("connections", user=MEMBER)
    said = answer_text(answer)
    assert "`cursor`" in said and f"<@{ADMIN}>" in said and "Cursor" in said
    assert f"…{cursor_sim.api_key[-4:]}" in said
    assert cursor_sim.api_key[:-4] not in said
    assert "last sync" in said and "status" in said
