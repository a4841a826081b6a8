"""The Slack layer: the HTTP edge, the gate, the router and Bolt listeners that parse, acknowledge, call a
service and show what ``bot.messages`` drew. It builds no Block Kit and imports no vendor."""
