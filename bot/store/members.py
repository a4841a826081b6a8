"""Reading the members of a connection: the people a vendor lists, by email, with their display names.

Answers name only the people they show, so names are looked up for a given set of emails, never as the
whole roster of a large team.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import MemberRow


async def member(session: AsyncSession, connection_id: int, email: str) -> MemberRow | None:
    """The member of a connection with this email, or None when the vendor does not list them."""
    return await session.get(MemberRow, (connection_id, email))


async def display_names(
    session: AsyncSession, connection_ids: Sequence[int], emails: Iterable[str]
) -> dict[str, str]:
    """The display names the connections know for these emails (emails without a name are left out)."""
    wanted = sorted(emails)
    if not connection_ids or not wanted:
        return {}
    rows = await session.exec(
        select(MemberRow.email, MemberRow.name).where(
            col(MemberRow.connection_id).in_(connection_ids), col(MemberRow.email).in_(wanted)
        )
    )
    return {email: name for email, name in rows.all() if name}


async def active_members(session: AsyncSession, connection_id: int) -> list[MemberRow]:
    """Every active member of a connection (the seats it holds), by email."""
    rows = await session.exec(
        select(MemberRow)
        .where(col(MemberRow.connection_id) == connection_id, col(MemberRow.active).is_(True))
        .order_by(col(MemberRow.email))
    )
    return list(rows.all())
