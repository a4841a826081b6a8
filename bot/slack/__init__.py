"""The Slack layer: Bolt listeners that parse, call a service and render Block Kit. No vendor imports."""
