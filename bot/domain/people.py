"""One person across tools: the aliases that map a vendor's key for someone to the email the others use.

Vendors name people differently: Cursor, Windsurf, OpenAI and Anthropic by email, GitHub Copilot by login
(its public email only when the profile shows one), and one person may have a second email at a
contractor or an old domain. ``SPENDBOT_PERSON_ALIASES`` (``alias=email, …``) says who is who; the sync
stores every row under the canonical email, so every answer, the digest and the exports join them.

Pure: parsing and lookup only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["PersonAliases"]

_EMAIL = re.compile(r"[^@\s,=]+@[^@\s,=]+\.[^@\s,=]+")
_KEY = re.compile(r"[^\s,=]{1,254}")


@dataclass(frozen=True)
class PersonAliases:
    """alias → canonical email, every key lowercased."""

    mapping: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def parse(cls, text: str) -> PersonAliases:
        """``"alice-smith=alice@example.com, a@old.io=alice@example.com"``; ValueError naming the bad pair."""
        found: dict[str, str] = {}
        for raw in (part.strip() for part in text.split(",")):
            if not raw:
                continue
            alias, sep, canonical = (piece.strip().lower() for piece in raw.partition("="))
            if not sep or not _KEY.fullmatch(alias) or not _EMAIL.fullmatch(canonical):
                raise ValueError(f"{raw!r} should be alias=email (an email or a vendor login, then an email)")
            if alias == canonical:
                continue
            if found.get(alias, canonical) != canonical:
                raise ValueError(f"{alias!r} is mapped to both {found[alias]!r} and {canonical!r}")
            found[alias] = canonical
        chained = sorted(alias for alias in found.values() if alias in found)
        if chained:
            raise ValueError(f"{chained[0]!r} is both an alias and the email others are mapped to")
        return cls(MappingProxyType(found))

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def canonical(self, key: str) -> str:
        """The email a person's figures are kept under (the key itself when it is no alias)."""
        lowered = key.lower()
        return self.mapping.get(lowered, lowered)

    def aliases_of(self, canonical: str) -> frozenset[str]:
        """Every alias of ``canonical`` (not the email itself)."""
        lowered = canonical.lower()
        return frozenset(alias for alias, email in self.mapping.items() if email == lowered)
