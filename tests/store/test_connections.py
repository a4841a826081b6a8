"""Workspaces and connections: scoped reads, guarded removals and key replacements, cascades."""

from __future__ import annotations

from bot.store.db import Database
from bot.store.models import Workspace
from bot.store.repositories import Repositories
from tests.store.rows import NOW, connection, workspace


async def test_a_workspace_is_created_once_and_renamed_by_a_new_name(
    database: Database, store: Repositories
) -> None:
    await store.connections.ensure_workspace("T1", None, "token", NOW)
    await store.connections.ensure_workspace("T1", "Acme", "oauth", NOW)
    await store.connections.ensure_workspace("T1", None, "oauth", NOW)
    async with database.session() as session:
        row = await session.get(Workspace, "T1")
    assert row is not None and (row.name, row.origin) == ("Acme", "token")


async def test_reads_are_scoped_and_ordered(database: Database, store: Repositories) -> None:
    await workspace(database, "T1")
    await workspace(database, "T2")
    windsurf = await connection(database, "T1", "windsurf")
    cursor = await connection(database, "T1", "cursor", origin="env")
    other = await connection(database, "T2", "cursor")
    connections = store.connections
    assert [row.name for row in await connections.for_team("T1")] == ["cursor", "windsurf"]
    assert [row.id for row in await connections.every()] == [windsurf.id, cursor.id, other.id]
    found = await connections.named("T2", "cursor")
    assert found is not None and found.id == other.id
    assert await connections.named("T2", "windsurf") is None
    assert [row.id for row in await connections.not_from_the_environment()] == [windsurf.id, other.id]
    async with database.write() as session:
        assert await connections.name_taken(session, "T1", "cursor")
        assert not await connections.name_taken(session, "T2", "windsurf")
        assert await connections.clashing_with_env(session, "T1", "cursor") is None
        assert [row.id for row in await connections.declared_in_the_environment(session)] == [cursor.id]


async def test_only_a_connection_added_in_slack_is_removed(database: Database, store: Repositories) -> None:
    await workspace(database)
    added = await connection(database, "T1", "mine")
    declared = await connection(database, "T1", "cursor", origin="env")
    assert added.id is not None and declared.id is not None
    async with database.write() as session:
        assert not await store.connections.delete_added_in_slack(session, declared.id, "T1")
        assert not await store.connections.delete_added_in_slack(session, added.id, "T2")
        assert await store.connections.delete_added_in_slack(session, added.id, "T1")
    assert [row.name for row in await store.connections.for_team("T1")] == ["cursor"]


async def test_a_key_is_replaced_only_while_it_is_the_one_read(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database, secret="old")
    await connection(database, name="env", origin="env")
    assert row.id is not None
    assert await store.connections.stored_keys() == [(row.id, "cursor", "T1", "old")]
    await store.connections.replace_key(row.id, "stale", "new")
    assert await store.connections.stored_keys() == [(row.id, "cursor", "T1", "old")]
    await store.connections.replace_key(row.id, "old", "new")
    assert await store.connections.stored_keys() == [(row.id, "cursor", "T1", "new")]


async def test_status_changes_are_stamped_and_a_workspace_goes_with_its_connections(
    database: Database, store: Repositories
) -> None:
    await workspace(database)
    row = await connection(database)
    assert row.id is not None
    await store.connections.set_status(row.id, "failing", "x" * 600, NOW)
    stored = await store.connections.by_id(row.id)
    assert stored is not None and (stored.status, stored.status_detail, stored.status_at) == (
        "failing",
        "x" * 500,
        NOW,
    )
    assert await store.connections.delete_workspace("T1") == [row.id]
    assert await store.connections.by_id(row.id) is None
