from __future__ import annotations

import re
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.errors import UserInputError
from bot.domain.grammar import (
    COMMANDS,
    GENERAL_USAGE,
    Audit,
    Backtest,
    Command,
    Connect,
    Connections,
    Credits,
    Deliveries,
    DigestNow,
    Disconnect,
    Export,
    Help,
    Limits,
    RequestLimit,
    SendTest,
    SetCap,
    SetLimit,
    Snooze,
    SourceFilter,
    Spend,
    Status,
    SubscribeBudget,
    SubscribeCreditLow,
    SubscribeDigest,
    SubscribeHealth,
    SubscribeRateLimit,
    SubscribeRequests,
    SubscribeSpike,
    Subscriptions,
    Top,
    Unsubscribe,
    UserQuery,
    UserRef,
    command_spec,
    help_sections,
    parse_command,
    render_help,
    spec_for,
)
from bot.domain.periods import PeriodSpec
from bot.domain.schedule import DAILY, WEEKLY

D = Decimal
MTD = PeriodSpec.month_to_date()
SEVEN = PeriodSpec.last_days(7)
CURSOR = SourceFilter(vendor="cursor")
WINDSURF = SourceFilter(vendor="windsurf")


def error_for(text: str, **kwargs: object) -> UserInputError:
    with pytest.raises(UserInputError) as caught:
        parse_command(text, **kwargs)  # type: ignore[arg-type]
    return caught.value


# ------------------------------------------------------------------------------------------ what parses

PARSED: list[tuple[str, Command]] = [
    ("", Help()),
    ("   ", Help()),
    ("help", Help()),
    ("help spend", Help(topic="spend")),
    ("help subscribe digest", Help(topic="subscribe digest")),
    ("help subscribe", Help(topic="subscribe")),
    ("status", Status()),
    ("spend", Spend()),
    ("spend 7d cursor by model", Spend(period=SEVEN, source=CURSOR, by="model")),
    ("spend by model cursor 7d", Spend(period=SEVEN, source=CURSOR, by="model")),
    ("  SPEND   By   USER   30D ", Spend(period=PeriodSpec.last_days(30), by="user")),
    ("spend today", Spend(period=PeriodSpec.today())),
    ("spend last week cursor by model", Spend(period=PeriodSpec.last_week(), source=CURSOR, by="model")),
    ("spend by model This Month", Spend(period=PeriodSpec.month_to_date(), by="model")),
    ("spend cursor last 14d", Spend(period=PeriodSpec.last_days(14), source=CURSOR)),
    ("spend november", Spend(period=PeriodSpec.calendar_month(11))),
    ("spend 2026-10 by day", Spend(period=PeriodSpec.calendar_month(10, 2026), by="day")),
    ("top 5 last month", Top(n=5, period=PeriodSpec.last_month())),
    ("top this week 3", Top(n=3, period=PeriodSpec.this_week())),
    ("spend yesterday rest", Spend(period=PeriodSpec.yesterday(), source=SourceFilter(vendor="rest"))),
    ("spend cycle by day", Spend(period=PeriodSpec.cycle(), by="day")),
    ("spend mtd windsurf", Spend(period=MTD, source=SourceFilter(vendor="windsurf"))),
    (
        "spend 2026-10-01..2026-10-31 Prod-Cursor_2",
        Spend(
            period=PeriodSpec.between(date(2026, 10, 1), date(2026, 10, 31)),
            source=SourceFilter(connection="prod-cursor_2"),
        ),
    ),
    ("spend\tby\nusers", Spend(by="user")),
    ("top", Top()),
    ("top 5 30d windsurf", Top(n=5, period=PeriodSpec.last_days(30), source=SourceFilter(vendor="windsurf"))),
    ("top cursor 100", Top(n=100, source=CURSOR)),
    ("user <@U12345> 7d", UserQuery(who=UserRef(slack_id="U12345"), period=SEVEN)),
    ("user 7d <@W0ABC|alice>", UserQuery(who=UserRef(slack_id="W0ABC"), period=SEVEN)),
    ("user Alice@Example.com", UserQuery(who=UserRef(email="alice@example.com"))),
    (
        "user <mailto:Alice@Example.com|Alice@Example.com> cycle",
        UserQuery(who=UserRef(email="alice@example.com"), period=PeriodSpec.cycle()),
    ),
    ("credits", Credits()),
    ("limits", Limits()),
    ("export", Export()),
    ("export 30d cursor", Export(period=PeriodSpec.last_days(30), source=CURSOR)),
    ("connections", Connections()),
    ("subscriptions", Subscriptions()),
    ("subscriptions ALL", Subscriptions(all=True)),
    ("connect cursor", Connect(vendor="cursor")),
    ("connect billing-api rest", Connect(vendor="rest", name="billing-api")),
    ("disconnect billing-api", Disconnect(name="billing-api")),
    ("disconnect cursor", Disconnect(name="cursor")),
    ("subscribe digest", SubscribeDigest()),
    ("subscribe digest daily", SubscribeDigest(weekdays=DAILY, cadence="daily")),
    ("subscribe digest weekly", SubscribeDigest(weekdays=WEEKLY, cadence="weekly")),
    (
        "subscribe digest weekly at 08:30 tz Europe/Paris",
        SubscribeDigest(weekdays=WEEKLY, cadence="weekly", at=time(8, 30), tz="Europe/Paris"),
    ),
    ("subscribe digest mon,wed,fri", SubscribeDigest(weekdays=frozenset({0, 2, 4}), cadence="custom")),
    ("subscribe digest mon, wed", SubscribeDigest(weekdays=frozenset({0, 2}), cadence="custom")),
    ("subscribe digest Monday friday", SubscribeDigest(weekdays=frozenset({0, 4}), cadence="custom")),
    ("subscribe digest mon-fri", SubscribeDigest(weekdays=frozenset(range(5)), cadence="custom")),
    ("subscribe digest fri-mon", SubscribeDigest(weekdays=frozenset({4, 5, 6, 0}), cadence="custom")),
    ("subscribe digest at 9", SubscribeDigest(at=time(9))),
    ("subscribe digest at 5:30pm", SubscribeDigest(at=time(17, 30))),
    ("subscribe digest at 12 am", SubscribeDigest(at=time(0))),
    ("subscribe digest 07:15", SubscribeDigest(at=time(7, 15))),
    ("subscribe digest tz america/new_york", SubscribeDigest(tz="America/New_York")),
    ("subscribe digest tz utc", SubscribeDigest(tz="UTC")),
    ("subscribe digest Asia/Kathmandu no-names", SubscribeDigest(tz="Asia/Kathmandu", no_names=True)),
    ("subscribe credit-low", SubscribeCreditLow()),
    ("subscribe credit-low below 20%", SubscribeCreditLow(below_percent=D(20))),
    ("subscribe credit-low 12.5%", SubscribeCreditLow(below_percent=D("12.5"))),
    ("subscribe credit-low below 500", SubscribeCreditLow(below_amount=D(500))),
    ("subscribe credit-low below 1,500", SubscribeCreditLow(below_amount=D(1500))),
    ("subscribe budget 5000", SubscribeBudget(amount=D(5000))),
    ("subscribe budget $5,000 cursor", SubscribeBudget(amount=D(5000), source=CURSOR, dollar_sign=True)),
    ("subscribe budget 5000.50", SubscribeBudget(amount=D("5000.50"))),
    (
        "subscribe budget windsurf 20000",
        SubscribeBudget(amount=D(20000), source=SourceFilter(vendor="windsurf")),
    ),
    ("subscribe rate-limit", SubscribeRateLimit(below_percent=D(10))),
    ("subscribe rate-limit below 15%", SubscribeRateLimit(below_percent=D(15))),
    ("subscribe rate-limit 5%", SubscribeRateLimit(below_percent=D(5))),
    ("subscribe health", SubscribeHealth()),
    ("subscribe spike", SubscribeSpike(factor=D(3), minimum_dollars=D(20))),
    ("subscribe spike x4 min $50", SubscribeSpike(factor=D(4), minimum_dollars=D(50))),
    ("subscribe spike $30 2.5x", SubscribeSpike(factor=D("2.5"), minimum_dollars=D(30))),
    ("backtest spike x4 30d", Backtest(rule=SubscribeSpike(factor=D(4), minimum_dollars=D(20)), days=30)),
    (
        "backtest budget 5000 cursor 90d",
        Backtest(rule=SubscribeBudget(amount=D(5000), source=CURSOR), days=90),
    ),
    ("backtest budget $5,000", Backtest(rule=SubscribeBudget(amount=D(5000), dollar_sign=True))),
    ("backtest credit-low below 20%", Backtest(rule=SubscribeCreditLow(below_percent=D(20)))),
    ("backtest credit-low 14d", Backtest(rule=SubscribeCreditLow(), days=14)),
    ("request-limit 500", RequestLimit(amount=500)),
    ("request-limit $1,500 cursor", RequestLimit(amount=1500, source=CURSOR, dollar_sign=True)),
    ("request-limit 3000 windsurf eval <@U1> sprint", RequestLimit(3000, WINDSURF, "eval <@U1> sprint")),
    (
        "request-limit 200 need more for the migration",
        RequestLimit(200, reason="need more for the migration"),
    ),
    ("subscribe requests", SubscribeRequests()),
    ("unsubscribe 12", Unsubscribe(target=12)),
    ("unsubscribe #12", Unsubscribe(target=12)),
    ("unsubscribe credit-low", Unsubscribe(target="credit-low")),
    ("snooze 12 30m", Snooze(subscription_id=12, duration=timedelta(minutes=30))),
    ("snooze 4h #12", Snooze(subscription_id=12, duration=timedelta(hours=4))),
    ("snooze 12 2d", Snooze(subscription_id=12, duration=timedelta(days=2))),
    ("snooze 12 until-resolved", Snooze(subscription_id=12, until_resolved=True)),
    ("snooze 12 until resolved", Snooze(subscription_id=12, until_resolved=True)),
    ("digest now", DigestNow()),
    ("Digest NOW", DigestNow()),
    ("test", SendTest()),
    ("deliveries", Deliveries()),
    ("audit", Audit()),
    ("set-limit alice@x.com 100", SetLimit(email="alice@x.com", dollars=100)),
    ("set-limit $1,000 <mailto:Bob@X.com|Bob@X.com>", SetLimit(email="bob@x.com", dollars=1000)),
    ("set-limit alice@x.com 100.00", SetLimit(email="alice@x.com", dollars=100)),
    ("set-limit alice@x.com 0", SetLimit(email="alice@x.com", dollars=0)),
    ("set-limit none alice@x.com", SetLimit(email="alice@x.com", dollars=None)),
    ("set-cap 500", SetCap(credits=500, scope="team")),
    ("set-cap 500 team", SetCap(credits=500, scope="team")),
    ("set-cap alice@x.com 1,000", SetCap(credits=1000, scope="alice@x.com")),
    ("set-cap none", SetCap(credits=None, scope="team")),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=[text or "<empty>" for text, _ in PARSED])
def test_parse(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


def test_defaults_follow_the_design() -> None:
    assert Spend().period == MTD
    assert Top().n == 10
    digest = SubscribeDigest()
    assert (digest.cadence, digest.weekdays, digest.at, digest.tz) == ("daily", DAILY, time(9), None)
    assert SubscribeRateLimit().below_percent == D(10)
    assert SetCap(credits=1).scope == "team"


def test_slack_html_escapes_are_undone_in_plain_words() -> None:
    error = error_for("spend a&amp;b")
    assert "`a&amp;b`" in error.problem  # shown as "a&b" by Slack


# ------------------------------------------------------------------------------------------ sources


def test_known_sources_accept_vendors_and_known_names() -> None:
    known = ["prod", "Staging"]
    assert parse_command("spend staging", known_sources=known) == Spend(
        source=SourceFilter(connection="staging")
    )
    assert parse_command("spend cursor", known_sources=known) == Spend(source=CURSOR)


def test_unknown_source_names_what_exists() -> None:
    error = error_for("spend prdo 7d", known_sources=["prod", "staging"])
    assert "`prdo` is not a source" in error.problem
    for name in ("cursor", "windsurf", "rest", "prod", "staging"):
        assert f"`{name}`" in error.problem
    assert error.usage == command_spec("spend").usage


def test_without_known_sources_any_well_formed_name_is_a_connection() -> None:
    assert parse_command("export billing") == Export(source=SourceFilter(connection="billing"))


def test_disconnect_checks_known_connections() -> None:
    error = error_for("disconnect nope", known_sources=["prod"])
    assert "There is no connection `nope`" in error.problem
    assert "`prod`" in error.problem


def test_budget_source_is_checked_too() -> None:
    error = error_for("subscribe budget 5 nope", known_sources=[])
    assert "`nope` is not a source" in error.problem


def test_connection_names_are_at_most_forty_characters() -> None:
    assert parse_command("spend " + "a" * 40) == Spend(source=SourceFilter(connection="a" * 40))
    error_for("spend " + "a" * 41)


# ------------------------------------------------------------------------------------------ errors

ERRORS: list[tuple[str, str, str]] = [
    # text, sub-command whose usage is shown, words the problem must contain
    ("status now", "status", "`now`"),
    ("spend 7d 30d", "spend", "Two periods: `7d` and `30d`"),
    ("spend last week 7d", "spend", "Two periods: `last week` and `7d`"),
    ("spend last", "spend", "`last` is not a period: `last` takes `week`, `month` or a number of days"),
    ("spend last cursor", "spend", "`last cursor` is not a period"),
    ("spend week", "spend", "write `this week` or `last week`"),
    ("spend 2026-13", "spend", "2026-13 is not a month"),
    ("subscribe spike x1", "subscribe spike", "the factor must be more than 1 and at most 100"),
    ("subscribe spike x3 x4", "subscribe spike", "Two factors: `x3` and `x4`"),
    ("subscribe spike min", "subscribe spike", "`min` needs an amount in dollars"),
    ("subscribe spike min soon", "subscribe spike", "`soon`: the minimum is an amount in dollars"),
    ("subscribe spike cursor", "subscribe spike", "`cursor` means nothing to `subscribe spike`"),
    ("backtest", "backtest", "give `spike`, `budget`, `credit-low`, then its options"),
    ("backtest health", "backtest", "replays the rule of a subscription (`health`)"),
    ("backtest budget 90d", "backtest", "the budget per billing cycle"),
    ("backtest budget 500 400d", "backtest", "from 1 to 365"),
    ("backtest credit-low below soon", "backtest", "write `below 20%` or `below 500`"),
    ("request-limit", "request-limit", "the limit you need"),
    ("request-limit more please", "request-limit", "start with the limit you need"),
    ("request-limit 12.5", "request-limit", "whole dollars"),
    ("top 5 this year", "top", "`this year` is not a period: `this` takes `week` or `month` after it"),
    ("spend by user by model", "spend", "`by` is there twice"),
    ("spend cursor windsurf", "spend", "Two sources: `cursor` and `windsurf`"),
    ("spend by", "spend", "`by` needs"),
    ("spend by week", "spend", "`by week`"),
    ("spend 0d", "spend", "`0d` is not a period"),
    ("spend 401d", "spend", "from 1 to 400"),
    ("spend 2026-02-30..2026-03-01", "spend", "not a day of the calendar"),
    ("spend 2026-03-05..2026-03-01", "spend", "must not end before it starts"),
    ("spend 2026-10-01", "spend", "`2026-10-01..2026-10-01`"),
    ("spend 7days", "spend", "`7d`"),
    ("spend Prod!", "spend", "`Prod!` means nothing to `spend`"),
    ("top 0", "top", "from 1 to 100"),
    ("top 101", "top", "from 1 to 100"),
    ("top 5 6", "top", "Two numbers: `5` and `6`"),
    ("top by user", "top", "`by` means nothing to `top`"),
    ("user", "user", "needs a person"),
    ("user @alice", "user", "`@alice` is not a mention"),
    ("user a@b.co c@d.co", "user", "Two people"),
    ("user <mailto:nope|nope>", "user", "is not an email address"),
    ("subscriptions mine", "subscriptions", "`mine`"),
    ("subscriptions all all", "subscriptions", "`all` is there twice"),
    ("connect", "connect", "needs the vendor"),
    ("connect cursor windsurf", "connect", "Two vendors"),
    ("connect cursor a b", "connect", "Two names"),
    ("connect cursor Bad!Name", "connect", "cannot be a connection name"),
    ("disconnect", "disconnect", "needs the name"),
    ("disconnect a b", "disconnect", "Two connection names"),
    ("subscribe digest daily weekly", "subscribe digest", "Two schedules"),
    ("subscribe digest weekly mon", "subscribe digest", "Two schedules"),
    ("subscribe digest mon,funday", "subscribe digest", "`funday`"),
    ("subscribe digest at 25:00", "subscribe digest", "`25:00` is not a time of day"),
    ("subscribe digest at 13pm", "subscribe digest", "`13pm`"),
    ("subscribe digest at", "subscribe digest", "`at` needs a time"),
    ("subscribe digest at 9 at 10", "subscribe digest", "`at` is there twice"),
    ("subscribe digest tz Mars/Olympus", "subscribe digest", "`Mars/Olympus` is not a time zone"),
    ("subscribe digest tz", "subscribe digest", "`tz` needs a time zone"),
    ("subscribe digest <#C123|general>", "subscribe digest", "does not take a channel"),
    ("subscribe credit-low 20% 500", "subscribe credit-low", "Two thresholds: `20%` and `500`"),
    ("subscribe credit-low below", "subscribe credit-low", "`below` needs"),
    ("subscribe credit-low below abc", "subscribe credit-low", "`below abc`"),
    ("subscribe credit-low 0%", "subscribe credit-low", "more than 0%"),
    ("subscribe credit-low 100%", "subscribe credit-low", "less than 100%"),
    ("subscribe budget", "subscribe budget", "needs the budget"),
    ("subscribe budget 0", "subscribe budget", "more than zero"),
    ("subscribe budget -5", "subscribe budget", "`-5`: the budget must be more than zero"),
    ("subscribe budget -$5 cursor", "subscribe budget", "`-$5`: the budget must be more than zero"),
    ("subscribe credit-low below -500", "subscribe credit-low", "`-500`: the threshold must be more"),
    ("subscribe budget 5,00", "subscribe budget", "`5,00` is not an amount"),
    ("subscribe budget 5 6", "subscribe budget", "Two budgets"),
    ("subscribe rate-limit below 5", "subscribe rate-limit", "is a percentage"),
    ("subscribe rate-limit 5% 6%", "subscribe rate-limit", "Two thresholds"),
    ("subscribe health now", "subscribe health", "`now`"),
    ("unsubscribe", "unsubscribe", "needs a subscription id"),
    ("unsubscribe 0", "unsubscribe", "from 1 to"),
    ("unsubscribe everything", "unsubscribe", "`everything` is neither"),
    ("unsubscribe 1 digest", "unsubscribe", "Two subscriptions"),
    ("snooze", "snooze", "needs the subscription id"),
    ("snooze 12", "snooze", "needs how long"),
    ("snooze 4h", "snooze", "needs the subscription id"),
    ("snooze 12 30", "snooze", "`30` needs a unit"),
    ("snooze 12 0m", "snooze", "longer than zero"),
    ("snooze 12 91d", "snooze", "at most 90 days"),
    ("snooze 12 4h until-resolved", "snooze", "Two durations"),
    ("snooze 12 until later", "snooze", "`later`"),
    ("digest now please", "digest now", "`please`"),
    ("set-limit", "set-limit", "needs the person's email"),
    ("set-limit alice@x.com", "set-limit", "whole dollars, or `none`"),
    ("set-limit alice@x.com 100.5", "set-limit", "whole dollars"),
    ("set-limit alice@x.com 100 none", "set-limit", "Two limits"),
    ("set-limit alice@x.com 2000000", "set-limit", "at most 1,000,000"),
    ("set-limit <@U1> 100", "set-limit", "by email"),
    ("set-cap", "set-cap", "whole credits, or `none`"),
    ("set-cap 5.5", "set-cap", "whole credits"),
    ("set-cap 5 team a@b.co", "set-cap", "Two people"),
    ("help nothing", "help", "no sub-command `nothing`"),
]


@pytest.mark.parametrize(("text", "name", "problem"), ERRORS, ids=[text for text, _, _ in ERRORS])
def test_errors_say_what_was_wrong_the_right_form_and_an_example(text: str, name: str, problem: str) -> None:
    error = error_for(text)
    spec = command_spec(name)
    assert problem in error.problem
    assert error.usage == spec.usage
    assert error.example in spec.examples
    rendered = error.render()
    assert rendered.splitlines()[1].startswith("Usage: `/spend ")
    assert rendered.splitlines()[2].startswith("Example: `/spend ")


def test_unknown_sub_command_suggests_the_closest_and_the_general_form() -> None:
    error = error_for("spnd 7d")
    assert "There is no sub-command `spnd`" in error.problem
    assert "Did you mean `spend`?" in error.problem
    assert error.usage == GENERAL_USAGE
    assert error.example == command_spec("spend").examples[0]


@pytest.mark.parametrize(
    ("text", "closest"),
    [
        ("stauts", "status"),
        ("credit", "credits"),
        ("exprot", "export"),
        ("subscibe budget 5", "subscribe budget"),
        ("subscribe budgte 5", "subscribe budget"),
        ("subscribe ratelimit", "subscribe rate-limit"),
        ("digest later", "digest now"),
        ("setlimit a@b.co 5", "set-limit"),
    ],
)
def test_closest_sub_command(text: str, closest: str) -> None:
    assert f"Did you mean `{closest}`?" in error_for(text).problem


def test_nothing_close_still_shows_the_general_form() -> None:
    error = error_for("xyzzy")
    assert "There is no sub-command `xyzzy`." in error.problem
    assert "Did you mean" not in error.problem
    assert error.example == "help"


def test_a_bare_period_or_vendor_points_to_spend() -> None:
    error = error_for("7d cursor")
    assert "Did you mean `spend 7d cursor`?" in error.problem
    assert error.usage == command_spec("spend").usage


def test_a_family_word_alone_lists_its_members() -> None:
    error = error_for("subscribe")
    for kind in ("digest", "credit-low", "budget", "rate-limit", "health"):
        assert f"`{kind}`" in error.problem
    assert "digest now" in error_for("digest").usage


def test_offending_words_are_quoted_safely() -> None:
    error = error_for("spend <!channel>")
    assert "<!channel>" not in error.render()
    assert "&lt;!channel&gt;" in error.problem
    long_word = "x" * 500
    assert len(error_for(f"spend {long_word}!").problem) < 200


# ------------------------------------------------------------------------------------------ registry


def test_every_sub_command_has_a_parser_and_its_examples_parse_to_it() -> None:
    for spec in COMMANDS:
        assert spec.examples, spec.name
        for example in spec.examples:
            command = parse_command(example)
            assert command.spec_name == spec.name, example
            assert spec_for(command) is spec


def test_registry_names_are_unique_and_usage_starts_with_the_name() -> None:
    names = [spec.name for spec in COMMANDS]
    assert len(names) == len(set(names))
    for spec in COMMANDS:
        assert spec.usage.startswith(spec.name)
        assert spec.description.endswith(".")


def test_who_may_run_what_follows_the_design() -> None:
    admin = {
        "connect",
        "disconnect",
        "subscribe digest",
        "subscribe credit-low",
        "subscribe budget",
        "subscribe rate-limit",
        "subscribe health",
        "subscribe spike",
        "subscribe requests",
        "unsubscribe",
        "snooze",
        "digest now",
        "test",
        "deliveries",
        "audit",
        "set-limit",
        "set-cap",
    }
    assert {spec.name for spec in COMMANDS if spec.admin_only} == admin
    assert {spec.name for spec in COMMANDS if spec.people_figures} == {
        "top",
        "user",
        "people",
        "idle",
        "backtest",
        "export",
    }
    # request-limit writes too, but anyone may ask for themselves: an admin approves it.
    assert {spec.name for spec in COMMANDS if spec.group == "write"} == {
        "set-limit",
        "set-cap",
        "request-limit",
    }


def test_design_table_sub_commands_all_exist() -> None:
    design = [
        *("help", "status", "spend", "top", "user", "credits", "limits", "export", "connections"),
        *("subscriptions", "connect", "disconnect", "unsubscribe", "snooze", "test", "deliveries", "audit"),
        *("set-limit", "set-cap"),
    ]
    design += [f"subscribe {kind}" for kind in ("digest", "credit-low", "budget", "rate-limit", "health")]
    design.append("digest now")
    design.append("people")  # issue 13: one person across every tool, beside design.md's table
    design.append("idle")  # issue 14: unused seats
    design.append("subscribe spike")  # issue 14: a person's day far above their usual
    design.append("backtest")  # issue 14: a rule replayed on the history
    design += ["request-limit", "subscribe requests"]  # issue 14: asking the admins for more
    assert {spec.name for spec in COMMANDS} == set(design)


# ------------------------------------------------------------------------------------------ help


def test_help_lists_every_command_with_usage_description_and_example() -> None:
    text = render_help("/spend")
    for spec in COMMANDS:
        usage = spec.usage.replace("<", "&lt;").replace(">", "&gt;")
        assert f"`/spend {usage}`" in text
        assert spec.description in text
    assert "*Read*" in text
    assert "*Configure*" in text
    assert "*Write*" in text
    assert text.index("*Read*") < text.index("*Configure*") < text.index("*Write*")
    assert "`/spend spend 7d cursor by model`" in text


def test_help_uses_the_installed_command_name() -> None:
    assert "`/costs spend " in render_help("/costs")
    assert "/spend" not in render_help("/costs")


def test_help_lists_only_what_is_available() -> None:
    text = render_help("/spend", available={"help", "spend", "credits"})
    assert "`/spend spend " in text
    assert "`/spend top" not in text
    assert "*Configure*" not in text


def test_help_on_a_topic_shows_every_example() -> None:
    text = render_help("/spend", topic="spend")
    for example in command_spec("spend").examples:
        assert f"`/spend {example}`" in text
    assert "`/spend top" not in text
    subscribe = render_help("/spend", topic="subscribe")
    assert subscribe.count("• ") == 7  # digest, credit-low, budget, rate-limit, health, spike, requests
    assert "no sub-command" in render_help("/spend", topic="nothing")


def test_help_sections_each_fit_in_a_slack_block() -> None:
    sections = help_sections("/spend")
    assert len(sections) == 4
    assert all(len(section) <= 3000 for section in sections)
    assert render_help("/spend") == "\n\n".join(sections)


def test_help_marks_admin_commands() -> None:
    lines = render_help("/spend").splitlines()
    assert any("set-limit" in line and "_(admins)_" in line for line in lines)
    assert not any(line.startswith("• `/spend spend ") and "_(admins)_" in line for line in lines)


# ------------------------------------------------------------------------------------------ properties


def check_outcome(text: str, known_sources: list[str] | None = None) -> None:
    """Parsing gives a command or a complete UserInputError; any other exception fails the test."""
    error: UserInputError | None = None
    try:
        command = parse_command(text, known_sources=known_sources)
    except UserInputError as raised:
        error = raised
    if error is None:
        assert spec_for(command).name == command.spec_name
        return
    assert error.problem
    assert error.usage
    assert error.example
    parse_command(error.example)  # the example offered is itself valid
    assert error.render(command="/spend").count("\n") == 2


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=200))
def test_any_text_parses_or_is_a_user_input_error(text: str) -> None:
    check_outcome(text)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=100), known=st.lists(st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True), max_size=4)
)
def test_any_text_with_known_sources_parses_or_is_a_user_input_error(text: str, known: list[str]) -> None:
    check_outcome(text, known)


EXTRA_WORDS = """
by user model day today yesterday 7d 30d 400d 401d 0d mtd cycle 2026-10-01..2026-10-31
2026-02-29..2026-03-01 2026-10-01 cursor windsurf rest prod all none team at tz below 20% 100% 500 $5,000
5000.50 100.5 #12 12 30m 4h 2d until-resolved until resolved daily weekly mon,wed mon-fri no-names
Europe/Paris 09:00 9am <@U123|alice> <mailto:a@b.co|a@b.co> a@b.co <#C1|general> <https://example.com|x>
@alice &lt; ` < > - .. % $ # , now digest subscribe help ١٢ İ
"""
VOCABULARY = sorted(
    {
        word
        for spec in COMMANDS
        for text in (spec.usage, *spec.examples)
        for word in re.split(r"[\s\[\]=|]+", text)
    }
    | set(EXTRA_WORDS.split())
    | {"", "7d\u00a0"}
)


def mutate(word: str, kind: int, position: int, extra: str) -> str:
    if not word:
        return extra
    position %= len(word)
    if kind == 0:
        return word
    if kind == 1:
        return word[:position] + word[position + 1 :]
    if kind == 2:
        return word[:position] + extra + word[position:]
    if kind == 3:
        return word.upper()
    return word + word


@st.composite
def grammar_like_texts(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from([spec.name for spec in COMMANDS] + ["", "subscribe", "digest", "spnd"]))
    words = draw(st.lists(st.sampled_from(VOCABULARY), max_size=8))
    mutated = [
        mutate(word, draw(st.integers(0, 6)), draw(st.integers(0, 50)), draw(st.text(max_size=2)))
        for word in words
    ]
    return " ".join([head, *draw(st.permutations(mutated))])


@settings(max_examples=600, deadline=None)
@given(text=grammar_like_texts())
def test_grammar_like_texts_parse_or_are_user_input_errors(text: str) -> None:
    check_outcome(text)


# Valid commands built from their phrases: any order of the phrases gives the same command.
PHRASES: dict[str, list[list[str]]] = {
    "spend": [
        ["7d", "mtd", "2026-10-01..2026-10-31", "cycle"],
        ["cursor", "prod", "rest"],
        ["by user", "by day"],
    ],
    "top": [["5", "100"], ["30d", "yesterday"], ["windsurf", "staging"]],
    "export": [["today", "400d"], ["rest", "billing-api"]],
    "user": [["<@U1|a>", "a@b.co", "<mailto:A@B.co|A@B.co>"], ["7d", "cycle"]],
    "subscribe digest": [
        ["weekly", "daily", "mon,wed,fri"],
        ["at 08:30", "at 9am", "17:00"],
        ["tz Europe/Paris", "Asia/Kolkata"],
        ["no-names"],
    ],
    "subscribe budget": [["5000", "$5,000.50"], ["cursor", "prod"]],
    "snooze": [["12", "#7"], ["30m", "until-resolved", "until resolved"]],
    "set-limit": [["a@b.co"], ["100", "none", "$1,000"]],
    "set-cap": [["500", "none"], ["team", "a@b.co"]],
    "connect": [["cursor", "rest"], ["billing-api"]],
}
REQUIRED = {"user": 0, "subscribe budget": 0, "snooze": 1, "set-limit": 1, "set-cap": 0, "connect": 0}


@st.composite
def phrase_orders(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    name = draw(st.sampled_from(sorted(PHRASES)))
    phrases = []
    for index, choices in enumerate(PHRASES[name]):
        required = index <= REQUIRED.get(name, -1)
        if required or draw(st.booleans()):
            phrases.append(draw(st.sampled_from(choices)))
    return name, phrases, draw(st.permutations(phrases))


@settings(max_examples=300, deadline=None)
@given(case=phrase_orders())
def test_words_after_the_sub_command_may_come_in_any_order(case: tuple[str, list[str], list[str]]) -> None:
    name, phrases, shuffled = case
    in_order = parse_command(" ".join([name, *phrases]))
    assert parse_command(" ".join([name, *shuffled])) == in_order
    assert in_order.spec_name == name


@settings(max_examples=200, deadline=None)
@given(case=phrase_orders(), extra=st.data())
def test_a_repeated_phrase_is_an_error(case: tuple[str, list[str], list[str]], extra: st.DataObject) -> None:
    name, phrases, _ = case
    if not phrases:
        return
    repeated = extra.draw(st.sampled_from(phrases))
    with pytest.raises(UserInputError):
        parse_command(" ".join([name, *phrases, repeated]))


def _help_line(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"• `/spend {name} "))


def test_help_says_who_may_use_the_commands_that_name_people() -> None:
    closed = render_help("/spend")
    assert "_(admins)_" in _help_line(closed, "export")
    assert "_(admins)_" in _help_line(closed, "top")
    assert "_(admins, or the person themselves)_" in _help_line(closed, "user")
    opened = render_help("/spend", people_visible_to="everyone")
    for name in ("export", "top", "user"):
        line = _help_line(opened, name)
        assert "_(everyone" in line and "admins" not in line
    assert "_(admins)_" in _help_line(opened, "set-limit")  # admin commands stay admin commands
    topic = render_help("/spend", topic="export", people_visible_to="everyone")
    assert "_(everyone" in topic
