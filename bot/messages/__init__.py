"""Every message spendbot shows, built from plain view models: no I/O, no services, no Slack client.

Services build the view models (``answers``, ``digest``, ``alerts``…) and call the renderers here;
the Slack layer, the scheduler and the console all show what these return, so a message looks the same
wherever it goes. Services import only the view models, the renderers and ``message.Message`` (what
they post and store), never the Block Kit builders of ``blocks``. This package imports only
``bot.domain`` (``tests/test_layers.py`` holds both to that).
"""
