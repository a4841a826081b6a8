"""Services: what the Slack layer and the scheduler call. They read the store, call vendors through the
connectors, and hold the rules that are not pure (access, delivery, sync)."""
