"""Pure domain logic: values in, values out.

Nothing here does I/O, reads the clock or imports anything of ours outside ``bot.domain``:

- ``errors``: ``UserInputError`` (what a person typed wrong) and ``MissingCycleError``;
- ``grammar``: the one parser of the slash-command text, and the registry of sub-commands the help and
  the error messages are generated from;
- ``commands``: what the parser returns, one frozen dataclass per sub-command;
- ``usage``: the normalised usage model every vendor connector returns (``SpendRow``, ``CycleSpend``...);
- ``periods``: ``PeriodSpec`` (what was asked) resolved into a ``Period`` (UTC bounds of local days);
- ``money``: formatting of cents, credits, changes, percentages and runway;
- ``forecast``: daily burn, runway, the cycle forecast and budget levels;
- ``alerts``: the alert state machine and threshold evaluation with hysteresis;
- ``schedule``: when a digest is due, with the DST rules of the design.
"""
