"""The one exception tree of spendbot: every error of ours descends from :class:`SpendbotError`.

It lives in the domain because every layer may import the domain. Callers catch at the level they
care about, as with httpx's own tree; a class that is also a built-in kind (``ValueError``) says so::

    SpendbotError                      anything spendbot raises on purpose
     ├── UserInputError                the slash-command text is wrong; shown to the person who typed it
     ├── MissingCycleError (ValueError)   a period needs a billing cycle the caller did not give
     ├── InvalidSlackId (ValueError)      domain.slack_ids: a team/user/channel id of the wrong shape
     ├── UnreadableValue (ValueError)     domain.bounded_json: untrusted JSON too big, too deep or broken
     ├── ServiceError                  services.errors: a sentence for the person, usually fixable
     │    ├── NotAllowed               the person may not do this
     │    ├── NotFound                 no such connection, subscription, person or period here
     │    ├── SourceUnavailable        a vendor could not answer; names the source and why
     │    ├── FormErrors               services.connect: the connect form's fields, each with its error
     │    ├── AlreadyConfirmed         services.confirmations: a confirmation used already
     │    ├── AlreadyDecided           services.limit_requests: a limit request decided already
     │    └── InvalidWrite             services.writes: a write plan that does not hold (forged, stale)
     ├── SlackUnavailable              services.slack_api: Slack unreachable or throttling after retries
     │    └── SlackOutcomeUnknown      a post may or may not have happened (the ledger settles it)
     ├── SecretKeyError                services.secrets: the encryption key is missing or wrong
     ├── VendorError                   vendors.errors: a vendor call failed (its own tree is drawn there)
     │    ├── AuthError, PermissionDenied, RateLimited, RequestRejected, SchemaError
     │    └── UpstreamError
     │         └── DeadlineExceeded
     ├── SettingsError                 settings: the environment does not make a valid configuration
     ├── StartupError                  server: the bot cannot start (port taken, database unreachable)
     ├── Refused                       slack.edge: a request the HTTP edge answers itself (413, 401...)
     ├── UnroutedCommands              slack.router: a grammar sub-command no route answers
     ├── ConsoleError                  console.session: the console cannot start
     ├── DemoError                     console.demo: the demo cannot start
     └── OperationError                console.operations: ``check``, ``sync`` or ``rotate-key`` failed

The simulators' own errors stay outside: they stand for other people's servers, not for spendbot.
``tests/test_layers.py`` checks that no error of ours is left out of the tree.

``UserInputError`` carries everything the Slack layer needs to answer in one ephemeral message: what was
wrong, the right form of the sub-command and one example.
"""

from __future__ import annotations

DEFAULT_COMMAND = "/spend"


def code_span(text: str) -> str:
    """Wrap ``text`` in a Slack code span, to quote what a person typed back to them.

    Slack's control characters are escaped, backticks replaced and whitespace collapsed to single spaces,
    so a quoted word can neither end the span early nor turn into a mention or a link.
    """
    safe = " ".join(text.split())  # a code span is one line
    safe = safe.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    return f"`{safe}`"


class SpendbotError(Exception):
    """The base of every error spendbot raises on purpose; see the tree in the module docstring."""


class UserInputError(SpendbotError):
    """The text after the slash command cannot be understood.

    ``problem`` is a sentence naming what was wrong (it may already contain code spans), ``usage`` the
    right form of the sub-command without the slash command (``"spend [period] [source]"``) and
    ``example`` one working text (``"spend 7d cursor"``).
    """

    def __init__(self, problem: str, usage: str, example: str) -> None:
        super().__init__(problem, usage, example)  # all three in args, so the error pickles
        self.problem = problem
        self.usage = usage
        self.example = example

    def render(self, command: str = DEFAULT_COMMAND) -> str:
        """The message for Slack (mrkdwn): the problem, then the right form and an example.

        ``command`` is the slash command as installed (``SPENDBOT_COMMAND``), so the usage shown is the one
        the person can type.
        """
        return "\n".join(
            (
                self.problem,
                f"Usage: {code_span(f'{command} {self.usage}'.rstrip())}",
                f"Example: {code_span(f'{command} {self.example}'.rstrip())}",
            )
        )

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"UserInputError({self.problem!r}, usage={self.usage!r}, example={self.example!r})"


class MissingCycleError(SpendbotError, ValueError):
    """A ``cycle`` period was resolved without the connection's billing-cycle bounds.

    Callers resolve ``cycle`` once per connection; a connection whose vendor has not told us its cycle is
    reported by the caller, not by the parser.
    """
