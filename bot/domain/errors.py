"""Errors the domain raises on purpose.

::

    Exception
    ├── UserInputError        the slash-command text is wrong; shown to the person who typed it
    └── ValueError
        └── MissingCycleError a period needs a billing cycle the caller did not give

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


class UserInputError(Exception):
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


class MissingCycleError(ValueError):
    """A ``cycle`` period was resolved without the connection's billing-cycle bounds.

    Callers resolve ``cycle`` once per connection; a connection whose vendor has not told us its cycle is
    reported by the caller, not by the parser.
    """
