"""Several workspaces on one deployment: OAuth installs, isolation by team id, and forgetting on uninstall."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.app import BOT_SCOPES
from bot.services.container import Services
from bot.settings import Settings
from bot.simulators.cursor import CursorSimulator
from bot.simulators.slack import FakeSlack, SignedRequests
from bot.store.models import Subscription, Workspace
from tests.connections.conftest import ADMIN, audit, cursor_form, on_bot, rows, settle
from tests.connections.driver import SlackDriver, answer_text
from tests.support.bot import BotThread

TEAM_A, TEAM_B = "TA0000001", "TB0000002"
ADMIN_A, ADMIN_B, MEMBER_B = "UAADMIN1", "UBADMIN1", "UBMEMBER"
_CODES = itertools.count(1)

# slack_sdk's oauth.v2.access sends the client credentials with aiohttp's BasicAuth, which aiohttp now
# deprecates; the warning is theirs to fix, and Python hides it outside tests.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def oauth_settings(make_settings: Callable[..., Settings], cursor_sim: CursorSimulator) -> Settings:
    return make_settings(
        slack_bot_token=None,
        slack_client_id="1234.5678",
        slack_client_secret="oauth-client-secret",
        cursor_api_url=cursor_sim.url,  # type: ignore[attr-defined]
        cursor_api_key=cursor_sim.api_key,
        env_team_id=TEAM_A,
    )


@pytest.fixture
def oauth_bot(oauth_settings: Settings, fake_slack: FakeSlack) -> Iterator[BotThread]:
    fake_slack.add_user(ADMIN_A, team_id=TEAM_A, is_admin=True)
    fake_slack.add_user(ADMIN_B, team_id=TEAM_B, is_owner=True)
    fake_slack.add_user(MEMBER_B, team_id=TEAM_B)
    with BotThread(oauth_settings) as bot:
        yield bot


async def install(bot: BotThread, fake: FakeSlack, team: str, installer: str) -> httpx.Response:
    """Go through /slack/install and /slack/oauth_redirect as a browser would, with the state cookie."""
    code = f"code-{next(_CODES)}"
    fake.add_oauth_code(
        code, team_id=team, team_name=f"Team {team}", bot_token=f"xoxb-{team}", user_id=installer
    )
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(f"{bot.url}/slack/install")
        assert page.status_code == 200
        cookie = page.headers["set-cookie"].split(";")[0]
        state = cookie.split("=", 1)[1]
        assert f"state={state}" in page.text
        return await client.get(
            f"{bot.url}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": cookie},
        )


async def _installed(services: Services) -> list[tuple[str, str]]:
    async with services.db.engine.connect() as connection:
        found = await connection.execute(text("SELECT team_id, 'installation' FROM slack_installations"))
        bots = await connection.execute(text("SELECT team_id, 'bot' FROM slack_bots"))
        return sorted([(str(a), str(b)) for a, b in found.all()] + [(str(a), str(b)) for a, b in bots.all()])


async def _workspaces(services: Services) -> dict[str, str]:
    async with services.db.session() as session:
        return {row.team_id: row.origin for row in (await session.exec(select(Workspace))).all()}


async def _subscriptions(services: Services) -> list[str]:
    async with services.db.session() as session:
        return sorted(row.team_id for row in (await session.exec(select(Subscription))).all())


def _subscribe(bot: BotThread, team: str) -> None:
    async def add(services: Services) -> None:
        async with services.db.write() as session:
            session.add(
                Subscription(team_id=team, channel_id="C1", kind="digest", created_at=datetime.now(UTC))
            )

    on_bot(bot, add)


async def test_the_oauth_install_asks_for_the_manifest_scopes_and_records_each_workspace(
    oauth_bot: BotThread, fake_slack: FakeSlack
) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{oauth_bot.url}/slack/install")
    assert "scope=" + ",".join(BOT_SCOPES) in page.text
    done = await install(oauth_bot, fake_slack, TEAM_B, ADMIN_B)
    assert done.status_code == 200, done.text
    assert on_bot(oauth_bot, _workspaces) == {TEAM_A: "token", TEAM_B: "oauth"}
    assert on_bot(oauth_bot, _installed) == [(TEAM_B, "bot"), (TEAM_B, "installation")]
    assert [(entry.action, entry.user_id) for entry in audit(oauth_bot, TEAM_B)] == [("install", ADMIN_B)]
    async with httpx.AsyncClient() as client:
        replayed = await client.get(
            f"{oauth_bot.url}/slack/oauth_redirect", params={"code": "x", "state": "y"}
        )
    assert replayed.status_code in (400, 401)


def test_the_oauth_scopes_are_the_manifests() -> None:
    import yaml

    from tests.test_repository_files import ROOT  # the repository root, as the other file checks use it

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


async def test_two_workspaces_never_see_or_touch_each_others_connections(
    oauth_bot: BotThread, signed: SignedRequests, fake_slack: FakeSlack, cursor_sim: CursorSimulator
) -> None:
    for team, installer in ((TEAM_A, ADMIN_A), (TEAM_B, ADMIN_B)):
        assert (await install(oauth_bot, fake_slack, team, installer)).status_code == 200
    slack = SlackDriver(oauth_bot, signed, fake_slack)
    answer = (await slack.submit(cursor_form(cursor_sim, name="alpha"), user=ADMIN_A, team=TEAM_A))[0].json()
    assert answer["response_action"] == "update", answer
    answer = (await slack.submit(cursor_form(cursor_sim, name="beta"), user=ADMIN_B, team=TEAM_B))[0].json()
    assert answer["response_action"] == "update", answer
    settle(oauth_bot)
    team_a_before = {(row.name, row.origin, row.secret_ciphertext) for row in rows(oauth_bot, TEAM_A)}
    assert {name for name, _, _ in team_a_before} == {"alpha", "cursor"}  # cursor: the environment's

    listed_b = answer_text(await slack.command("connections", user=MEMBER_B, team=TEAM_B))
    assert "`beta`" in listed_b and "alpha" not in listed_b and "`cursor`" not in listed_b
    listed_a = answer_text(await slack.command("connections", user=ADMIN_A, team=TEAM_A))
    assert "`alpha`" in listed_a and "`cursor`" in listed_a and "beta" not in listed_a

    for name in ("alpha", "cursor"):
        asked = await slack.command(f"disconnect {name}", user=ADMIN_B, team=TEAM_B)
        assert f"There is no connection `{name}`" in answer_text(asked)
        forged = await slack.confirm_disconnect(name, user=ADMIN_B, team=TEAM_B)
        assert f"There is no connection `{name}`" in answer_text(forged)
    # a forged submission pointing at workspace A's channel still lands in B, the payload's team
    forged_form = await slack.submit(
        cursor_form(cursor_sim, name="alpha"), user=ADMIN_B, team=TEAM_B, channel="CA_CHANNEL"
    )
    assert forged_form[0].json()["response_action"] == "update"
    settle(oauth_bot)
    assert {(row.name, row.origin, row.secret_ciphertext) for row in rows(oauth_bot, TEAM_A)} == team_a_before
    assert sorted(row.name for row in rows(oauth_bot, TEAM_B)) == ["alpha", "beta"]

    audit_b = answer_text(await slack.command("audit", user=ADMIN_B, team=TEAM_B))
    assert ADMIN_A not in audit_b and "`beta`" in audit_b
    audit_a = answer_text(await slack.command("audit", user=ADMIN_A, team=TEAM_A))
    assert ADMIN_B not in audit_a
    # each workspace's Slack calls carried its own bot token
    users_info = fake_slack.calls("users.info")
    assert {(call.args["user"], call.team_id) for call in users_info} >= {
        (ADMIN_A, TEAM_A),
        (ADMIN_B, TEAM_B),
    }
    assert all(call.team_id in (TEAM_A, TEAM_B) for call in users_info)


async def test_uninstall_forgets_that_workspace_only(
    oauth_bot: BotThread, signed: SignedRequests, fake_slack: FakeSlack, cursor_sim: CursorSimulator
) -> None:
    for team, installer in ((TEAM_A, ADMIN_A), (TEAM_B, ADMIN_B)):
        await install(oauth_bot, fake_slack, team, installer)
    slack = SlackDriver(oauth_bot, signed, fake_slack)
    await slack.submit(cursor_form(cursor_sim, name="alpha"), user=ADMIN_A, team=TEAM_A)
    await slack.submit(cursor_form(cursor_sim, name="beta"), user=ADMIN_B, team=TEAM_B)
    settle(oauth_bot)
    _subscribe(oauth_bot, TEAM_A)
    _subscribe(oauth_bot, TEAM_B)

    response = await slack.event({"type": "app_uninstalled"}, team=TEAM_A)
    assert response.status_code == 200

    async def forgotten(services: Services) -> bool:
        return TEAM_A not in await _workspaces(services)

    await fake_slack.wait_for(lambda _: on_bot(oauth_bot, forgotten), timeout=10)
    assert on_bot(oauth_bot, _installed) == [(TEAM_B, "bot"), (TEAM_B, "installation")]
    assert rows(oauth_bot, TEAM_A) == []
    assert [row.name for row in rows(oauth_bot, TEAM_B)] == ["beta"]
    assert on_bot(oauth_bot, _subscriptions) == [TEAM_B]
    assert on_bot(oauth_bot, lambda services: services.slack.token_for(TEAM_A)) is None
    assert [(entry.action, entry.outcome) for entry in audit(oauth_bot, TEAM_A)][-1] == (
        "app_uninstalled",
        "ok",
    )
    # A command from the uninstalled workspace gets no data: Bolt finds no installation for it.
    body, headers = signed.command("connections", user_id=ADMIN_A, team_id=TEAM_A)
    refused = await slack.post(body, headers)
    assert "alpha" not in refused.text

    # tokens_revoked for user tokens only changes nothing; for the bot token it forgets the workspace
    await slack.event({"type": "tokens_revoked", "tokens": {"oauth": [ADMIN_B]}}, team=TEAM_B)
    settle(oauth_bot)
    assert [row.name for row in rows(oauth_bot, TEAM_B)] == ["beta"]
    await slack.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT0001"]}}, team=TEAM_B)

    async def all_gone(services: Services) -> bool:
        return await _workspaces(services) == {} and await _installed(services) == []

    await fake_slack.wait_for(lambda _: on_bot(oauth_bot, all_gone), timeout=10)
    assert rows(oauth_bot) == [] and on_bot(oauth_bot, _subscriptions) == []


async def test_single_workspace_uninstall_deletes_its_keys_and_subscriptions(
    slack: SlackDriver, running: BotThread, fake_slack: FakeSlack, cursor_sim: CursorSimulator
) -> None:
    await slack.submit(cursor_form(cursor_sim), user=ADMIN)
    settle(running)
    _subscribe(running, "T0001")
    await slack.event({"type": "app_uninstalled"})

    async def emptied(services: Services) -> Any:
        return not await _subscriptions(services) and not await services.connections.every()

    await fake_slack.wait_for(lambda _: on_bot(running, emptied), timeout=10)
    assert [(entry.action, entry.outcome) for entry in audit(running)][-1] == ("app_uninstalled", "ok")


async def test_an_oauth_error_from_the_address_bar_is_logged_and_shown_only_as_a_code(
    oauth_bot: BotThread, caplog: pytest.LogCaptureFixture
) -> None:
    # /slack/oauth_redirect is open to anyone: what its ``error`` parameter says is the visitor's text.
    import logging

    caplog.set_level(logging.INFO)
    marker = "<script>SECRETMARKER</script>"
    async with httpx.AsyncClient() as client:
        forged = await client.get(
            f"{oauth_bot.url}/slack/oauth_redirect", params={"error": f"\n{marker}" + "x" * 5000}
        )
        denied = await client.get(f"{oauth_bot.url}/slack/oauth_redirect", params={"error": "access_denied"})
    assert "SECRETMARKER" not in forged.text and len(forged.text) < 2000
    ours = [record.getMessage() for record in caplog.records if not record.name.startswith("http")]
    assert not any("SECRETMARKER" in line for line in ours) and sum(map(len, ours)) < 2000
    failures = [line for line in ours if "OAuth install failed" in line]
    assert failures[-1].endswith("access_denied") and "a reason not shaped like Slack's" in failures[0]
    assert denied.status_code == forged.status_code
