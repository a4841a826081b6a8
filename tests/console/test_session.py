"""The console drives the real app: same parser, services and builders, so the same figures as Slack."""

from __future__ import annotations

import re

from bot.console.session import CONSOLE_USER, ConsoleSession, Turn
from tests.commands.conftest import World, text_of
from tests.console.conftest import ScriptedReader, run_console

MONEY = re.compile(r"[−+-]?\$[\d,]+\.\d{2}")
CREDITS = re.compile(r"[\d,.]+ credits")
UTC_READER = "UUTC0001"


def test_the_console_answers_the_same_figures_as_the_http_path(synced: World) -> None:
    # Both readers in UTC, so "7d" means the same days for both.
    synced.fake.add_user(UTC_READER, name="uma", email="uma@example.com", tz="UTC", is_admin=True)
    slack = text_of(synced.ask("spend 7d", user=UTC_READER))

    turn, output = run_console(synced, lambda session: session.command("spend 7d"))

    figures = MONEY.findall(slack)
    assert figures, slack
    assert MONEY.findall(turn.texts) == figures
    assert CREDITS.findall(turn.texts) == CREDITS.findall(slack)
    for figure in figures:  # and the terminal shows every one of them
        assert figure in output
    assert "[1] Share in channel" in output


def test_a_button_is_a_number_that_sends_the_click(synced: World) -> None:
    email = synced.member_email

    async def work(session: ConsoleSession) -> tuple[Turn, Turn | None]:
        question = await session.command(f"set-limit {email} 150")
        confirm = next(choice.number for choice in question.choices if choice.label == "Confirm")
        return question, await session.handle(str(confirm))

    (question, done), output = run_console(synced, work)
    assert [choice.label for choice in question.choices] == ["Confirm", "Cancel"]
    assert "[1] Confirm   [2] Cancel" in output
    assert done is not None and "Done by" in done.texts
    assert synced.cursor.dataset.limit_dollars(email) == 150
    assert "The message above now reads:" in output


def test_lines_with_or_without_the_command_and_exit_words(synced: World) -> None:
    reader = ScriptedReader(["/spend help", "help", "7", "quit", "status"])
    code, output = run_console(synced, lambda session: session.repl(), reader)
    assert code == 0
    assert output.count("/spend status") >= 2  # the help text, shown twice
    assert "There is no choice 7" in output
    assert [prompt for prompt, _ in reader.prompts] == ["/spend> "] * 4  # "status" after quit is never read


def test_subscribing_the_consoles_own_channel_is_refused_against_a_real_database(synced: World) -> None:
    turn, output = run_console(synced, lambda session: session.handle("/spend subscribe digest daily"))
    assert turn is not None and turn.shown == []
    assert "Subscribe in Slack, in the channel that should receive the posts" in output


def test_the_end_of_input_ends_the_console_cleanly(synced: World) -> None:
    code, _ = run_console(synced, lambda session: session.repl(), ScriptedReader())
    assert code == 0


def test_connect_prompts_for_the_form_reads_the_key_hidden_and_shows_field_errors(synced: World) -> None:
    key = synced.cursor.api_key
    reader = ScriptedReader(
        [
            "",  # connection name: keep the one from the command
            "not-the-right-key-123",  # the key, hidden
            "",  # base URL: the default (the simulator)
            "y",  # correct it and submit again
            "",
            key,
            "",
        ]
    )

    async def work(session: ConsoleSession) -> tuple[Turn, bool]:
        turn = await session.command("connect cursor team-b")
        stored = await session.services.connections.get(session.team_id, "team-b")
        return turn, stored is not None

    (turn, stored), output = run_console(synced, work, reader)
    assert stored
    assert "Connect Cursor" in output
    assert "Admin API key: Key rejected: Cursor did not accept this key" in output
    assert "team-b" in output and "is connected" in output
    asked = {prompt.split(" (")[0].split(" [")[0].rstrip(": "): hidden for prompt, hidden in reader.prompts}
    assert asked["Admin API key"] is True and asked["Connection name"] is False
    assert key not in output and key not in turn.texts


def test_home_shows_the_app_home_and_its_connect_button_opens_the_form(synced: World) -> None:
    async def work(session: ConsoleSession) -> tuple[Turn, Turn]:
        home = await session.home()
        connect = next(choice.number for choice in home.choices if choice.label == "Connect Cursor")
        return home, await session.choose(connect)

    (home, opened), output = run_console(synced, work, ScriptedReader())
    assert home.shown[0]["type"] == "home"
    assert opened.shown[0]["title"]["text"] == "Connect Cursor"
    assert "App Home:" in output and "Spend this cycle" in output
    assert "Connect Cursor ──" in output  # the modal's title
    assert "Cancelled: nothing was submitted." in output
    assert CONSOLE_USER not in output  # mentions of the console user read "@you"
