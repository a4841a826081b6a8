"""Services: what the Slack layer, the console and the scheduler call. They read and write the store
through its repositories, call vendors through the connectors, hold the rules that are not pure (access,
delivery, sync), and return view models that ``bot.messages`` renders."""
