"""spendbot: spend, credits and rate limits of AI coding tools, answered and announced in Slack."""

__version__ = "0.1.0"
