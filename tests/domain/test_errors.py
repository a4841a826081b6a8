from __future__ import annotations

import pickle

from bot.domain.errors import MissingCycleError, UserInputError, code_span


def test_render_states_the_problem_the_form_and_an_example() -> None:
    error = UserInputError("Two periods: `7d` and `30d`.", usage="spend [period]", example="spend 7d")
    assert error.render() == (
        "Two periods: `7d` and `30d`.\nUsage: `/spend spend [period]`\nExample: `/spend spend 7d`"
    )
    assert str(error) == error.render()


def test_render_uses_the_installed_command_name() -> None:
    error = UserInputError("Nope.", usage="status", example="status")
    assert (
        error.render(command="/spend-dev")
        == "Nope.\nUsage: `/spend-dev status`\nExample: `/spend-dev status`"
    )


def test_attributes_are_kept() -> None:
    error = UserInputError("p", usage="u", example="e")
    assert (error.problem, error.usage, error.example) == ("p", "u", "e")
    assert "UserInputError('p'" in repr(error)


def test_code_span_cannot_be_broken_out_of() -> None:
    assert code_span("a`b") == "`a'b`"
    assert code_span("<!channel> & <@U1>") == "`&lt;!channel&gt; &amp; &lt;@U1&gt;`"


def test_usage_with_angle_brackets_is_escaped_for_slack() -> None:
    error = UserInputError("p", usage="user <email>", example="user a@b.co")
    assert "`/spend user &lt;email&gt;`" in error.render()


def test_the_error_survives_pickling() -> None:
    error = UserInputError("p", usage="u", example="e")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.problem, copy.usage, copy.example) == ("p", "u", "e")


def test_missing_cycle_is_a_value_error() -> None:
    assert issubclass(MissingCycleError, ValueError)
