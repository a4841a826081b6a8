"""Every message spendbot shows, built from plain view models: no I/O, no services, no Slack client.

Services build the view models (``answers``…) and call the renderers here; the Slack layer, the
scheduler and the console all show what these return, so a message looks the same wherever it goes.
This package imports only ``bot.domain`` (``tests/test_layers.py`` holds it to that).
"""
