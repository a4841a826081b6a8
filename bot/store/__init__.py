"""Persistence: SQLModel tables on SQLAlchemy's async engine (SQLite by default, PostgreSQL by URL)."""
