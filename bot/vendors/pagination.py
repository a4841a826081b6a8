"""One pagination helper per style the vendors use; they differ and must not be confused.

- :func:`pages_by_total_pages`: Cursor ``/teams/spend`` returns ``totalPages`` and nothing else (no
  ``hasNextPage``, no current page): fetch pages 1..totalPages.
- :func:`pages_by_has_next_page`: Cursor usage events (``pagination.hasNextPage``, ``numPages``),
  daily usage (``pagination`` only when ``page``/``pageSize`` were sent) and Analytics by-user
  (``hasNextPage``, ``totalPages``).
- :func:`pages_by_offset`: generic REST ``limit``/``offset`` with ``has_more``.
- :func:`pages_by_cursor`: an opaque cursor the server hands back (OpenAI ``next_page`` for usage and
  costs, ``last_id`` → ``after`` for its user list) with ``has_more``; a cursor seen twice is a loop.

Every helper also stops on an empty page (a server that keeps saying "more" but sends nothing), and
raises a SchemaError after ``max_pages`` rather than looping forever on a server whose pagination
never ends. They yield whole page bodies, one at a time, so callers stream: memory does not grow with
the number of pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from bot.vendors.errors import SchemaError
from bot.vendors.parsing import as_int, as_object

__all__ = [
    "DEFAULT_MAX_PAGES",
    "pages_by_cursor",
    "pages_by_has_next_page",
    "pages_by_offset",
    "pages_by_total_pages",
]

DEFAULT_MAX_PAGES = 10_000

PageFetcher = Callable[[int], Awaitable[Mapping[str, Any]]]
OffsetFetcher = Callable[[int, int], Awaitable[Mapping[str, Any]]]
CursorFetcher = Callable[[str | None], Awaitable[Mapping[str, Any]]]


def _item_count(body: Mapping[str, Any], items_key: str) -> int:
    items = body.get(items_key)
    if items is None:
        return 0
    if not isinstance(items, list | dict):
        raise SchemaError("expected an array (or an object keyed by user)", field=items_key)
    return len(items)


def _too_many_pages(field: str, max_pages: int) -> SchemaError:
    return SchemaError(f"the server still reported more pages after {max_pages}", field=field)


async def pages_by_total_pages(
    fetch_page: PageFetcher,
    *,
    items_key: str,
    total_key: str = "totalPages",
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Mapping[str, Any]]:
    """Pages 1..``total_key``, stopping early on an empty page.

    When a response lacks ``total_key`` we keep going until an empty page (older clients of Cursor's
    spend endpoint relied on exactly that).
    """
    page = 1
    while True:
        body = as_object(await fetch_page(page), "body")
        yield body
        if _item_count(body, items_key) == 0:
            return
        total_value = body.get(total_key)
        if total_value is not None and page >= as_int(total_value, total_key):
            return
        if page >= max_pages:
            raise _too_many_pages(total_key, max_pages)
        page += 1


async def pages_by_has_next_page(
    fetch_page: PageFetcher,
    *,
    items_key: str,
    page_count_key: str = "totalPages",
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[Mapping[str, Any]]:
    """Pages while ``pagination.hasNextPage`` is true.

    Without ``hasNextPage`` we compare the page number with ``pagination.<page_count_key>``
    (``numPages`` for usage events, ``totalPages`` elsewhere); without a ``pagination`` object at all
    the response is complete in one page (daily usage queried without ``page``/``pageSize``).
    """
    page = 1
    while True:
        body = as_object(await fetch_page(page), "body")
        yield body
        if _item_count(body, items_key) == 0:
            return
        raw_pagination = body.get("pagination")
        if raw_pagination is None:
            return
        pagination = as_object(raw_pagination, "pagination")
        has_next = pagination.get("hasNextPage")
        if has_next is None:
            count = pagination.get(page_count_key)
            if count is None:
                return
            has_next = page < as_int(count, f"pagination.{page_count_key}")
        elif not isinstance(has_next, bool):
            raise SchemaError("expected a boolean", field="pagination.hasNextPage")
        if not has_next:
            return
        if page >= max_pages:
            raise _too_many_pages("pagination.hasNextPage", max_pages)
        page += 1


def _has_more(body: Mapping[str, Any]) -> bool | None:
    for holder in (body.get("pagination"), body, body.get("meta")):
        if isinstance(holder, Mapping) and "has_more" in holder:
            value = holder["has_more"]
            if not isinstance(value, bool):
                raise SchemaError("expected a boolean", field="pagination.has_more")
            return value
    return None


async def pages_by_offset(
    fetch: OffsetFetcher,
    *,
    limit: int,
    items_key: str = "data",
    max_pages: int = 1_000,
) -> AsyncIterator[Mapping[str, Any]]:
    """``limit``/``offset`` pages while ``has_more`` says so, and while pages come back full.

    A page shorter than the limit ends the listing even if ``has_more`` is missing or still true. The
    limit compared with is the one the server says it applied (``pagination.limit``) when it clamps
    ours, so a server that serves at most 50 of the 100 we asked for is still read to the end.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    offset = 0
    for _ in range(max_pages):
        body = as_object(await fetch(offset, limit), "body")
        yield body
        count = _item_count(body, items_key)
        if count == 0:
            return
        applied = limit
        pagination = body.get("pagination")
        if isinstance(pagination, Mapping) and pagination.get("limit") is not None:
            applied = min(limit, as_int(pagination["limit"], "pagination.limit")) or limit
        if _has_more(body) is False or count < applied:
            return
        offset += count
    raise _too_many_pages("pagination.has_more", max_pages)


async def pages_by_cursor(
    fetch: CursorFetcher,
    *,
    cursor_key: str = "next_page",
    items_key: str = "data",
    max_pages: int = 1_000,
) -> AsyncIterator[Mapping[str, Any]]:
    """Pages while ``has_more`` is true, each asked for with the cursor the previous one returned.

    The first page is fetched with no cursor. ``has_more`` true without a cursor, or a cursor the server
    already gave, is a SchemaError: following it would loop or silently stop early.
    """
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        body = as_object(await fetch(cursor), "body")
        yield body
        if _item_count(body, items_key) == 0 or _has_more(body) is not True:
            return
        raw = body.get(cursor_key)
        if not isinstance(raw, str) or not raw:
            raise SchemaError("has_more is true but there is no cursor", field=cursor_key)
        if raw in seen:
            raise SchemaError("the server returned a cursor it had already given", field=cursor_key)
        seen.add(raw)
        cursor = raw
    raise _too_many_pages("has_more", max_pages)
