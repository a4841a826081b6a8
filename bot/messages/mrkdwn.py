"""The one escaping rule for text people or vendors wrote (names, fields, error details) in mrkdwn.

Apart from the Block Kit builders because the alert readings still write their details as mrkdwn text
in the service (they are stored with the alert state and shown again by the digest and App Home).
"""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives a meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
