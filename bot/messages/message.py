"""What a renderer returns and the ledger posts: a message's fallback text and its blocks.

Kept apart from the Block Kit builders (``blocks``) so that services, which post and store messages
but never build them, import this and nothing of the builders (``tests/test_layers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Block = dict[str, Any]


@dataclass
class Message:
    """What to post: a plain-text fallback and the blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}
