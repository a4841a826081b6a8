"""Persistence: SQLModel tables on SQLAlchemy's async engine (SQLite by default, PostgreSQL by URL).

Every statement lives here, in one repository per aggregate (``subscriptions``, ``deliveries``,
``connections``…), so services say what they want and never how it is queried. A repository method
without a session runs in a transaction of its own; one that takes a ``session`` runs in the caller's,
for a service operation that must commit several changes together (a change and its audit entry).
"""
