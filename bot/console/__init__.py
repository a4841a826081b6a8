"""The terminal's equivalent of the Slack layer: ``spendbot console``, ``demo``, ``check`` and ``sync``.

It drives the same Bolt app, parser, services and Block Kit builders as Slack does, and renders what
Slack would show with rich. Like the Slack layer, it never calls a vendor directly: it goes through
services (and, for the demo, serves the vendor simulators).
"""
