"""The two writes: shown first, applied only on an admin's confirmation, re-checked on the click, audited."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from bot.services.confirmations import new_token
from tests.commands.conftest import MEMBER, World, button_value, text_of


def _audit(world: World) -> list[tuple[str, str, str]]:
    assert world.bot.services is not None
    entries = world.bot.call(world.bot.services.audit.recent("T0001", limit=50))
    return [(entry.action, entry.outcome, entry.target or "") for entry in entries]


def test_set_limit_is_refused_to_non_admins_and_changes_nothing(synced: World) -> None:
    email = synced.member_email
    before = synced.cursor.dataset.limit_dollars(email)
    text = text_of(synced.ask(f"set-limit {email} 150", user=MEMBER))
    assert "only a workspace admin or owner" in text
    assert synced.cursor.dataset.limit_dollars(email) == before
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0


def test_set_limit_asks_first_and_writes_only_on_confirmation(synced: World) -> None:
    email = synced.member_email
    before = synced.cursor.dataset.limit_dollars(email)
    answer = synced.ask(f"set-limit {email} 150")
    question = text_of(answer)
    assert "Set the Cursor spend limit" in question and "$150" in question
    current = "no limit" if before is None else f"${before:,}.00"
    assert f"Current limit: {current}" in question
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0

    posts = synced.click("write_confirm", button_value(answer, "write_confirm"))
    done = text_of(posts[-1])
    assert "Done by" in done and "Spend limit set to $150" in done
    assert synced.cursor.dataset.limit_dollars(email) == 150
    assert ("set-limit", "ok", f"cursor: {email} -> 150") in _audit(synced)

    # Removing the limit goes the same way.
    answer = synced.ask(f"set-limit {email} none")
    synced.click("write_confirm", button_value(answer, "write_confirm"))
    assert synced.cursor.dataset.limit_dollars(email) is None


def test_a_confirm_click_from_a_non_admin_is_refused_and_audited(synced: World) -> None:
    email = synced.member_email
    answer = synced.ask(f"set-limit {email} 75")
    posts = synced.click("write_confirm", button_value(answer, "write_confirm"), user=MEMBER)
    assert "only a workspace admin or owner" in text_of(posts[-1])
    assert synced.cursor.dataset.limit_dollars(email) != 75
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0


def _plan(**fields: object) -> str:
    return json.dumps({"op": "set-limit", "connection": "cursor", "token": new_token(), **fields})


def test_a_forged_or_stale_plan_is_refused_with_a_sentence(synced: World) -> None:
    forged = _plan(email="not-an-email", dollars=10)
    assert "no valid email" in text_of(synced.click("write_confirm", forged)[-1])
    negative = _plan(email=synced.member_email, dollars=-5)
    assert "no valid amount" in text_of(synced.click("write_confirm", negative)[-1])
    elsewhere = _plan(connection="theirs", email=synced.member_email, dollars=5)
    assert "no Cursor connection named `theirs`" in text_of(synced.click("write_confirm", elsewhere)[-1])
    assert "not valid any more" in text_of(synced.click("write_confirm", "{nonsense")[-1])
    # A plan from before confirmations carried a token is stale: run the command again.
    untokened = json.dumps(
        {"op": "set-limit", "connection": "cursor", "email": synced.member_email, "dollars": 5}
    )
    assert "not valid any more" in text_of(synced.click("write_confirm", untokened)[-1])
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0


def test_a_confirm_click_replayed_three_times_writes_once(synced: World) -> None:
    email = synced.member_email
    answer = synced.ask(f"set-limit {email} 150")
    value = button_value(answer, "write_confirm")
    first = synced.click("write_confirm", value)
    assert "Done by" in text_of(first[-1])
    for _ in range(3):
        again = synced.click("write_confirm", value)
        assert "Already done" in text_of(again[-1])
        assert again[-1].get("replace_original") is not True  # the "Done" message stays as it was
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 1
    assert [entry[1] for entry in _audit(synced) if entry[0] == "set-limit"] == ["refused"] * 3 + ["ok"]


def test_concurrent_double_clicks_on_a_confirmation_write_once(synced: World) -> None:
    answer = synced.ask(f"set-cap 300 {synced.windsurf.dataset.members[0].email}")
    value = button_value(answer, "write_confirm")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: text_of(synced.click("write_confirm", value)[-1]), range(4)))
    assert sum("Done by" in text for text in answers) == 1
    assert sum("Already done" in text for text in answers) == 3
    assert synced.windsurf.stats.count(path="UsageConfig") == 1


def test_a_confirmation_whose_write_failed_can_be_clicked_again(synced: World) -> None:
    email = synced.member_email
    answer = synced.ask(f"set-limit {email} 90")
    value = button_value(answer, "write_confirm")
    synced.cursor.faults.fail(status=503, times=None, path="/teams/user-spend-limit")
    assert "could not be reached" in text_of(synced.click("write_confirm", value)[-1])
    synced.cursor.faults.clear()
    assert "Done by" in text_of(synced.click("write_confirm", value)[-1])
    assert synced.cursor.dataset.limit_dollars(email) == 90


def test_an_oversized_or_deeply_nested_button_value_gets_a_short_answer(synced: World) -> None:
    for value in ("[" * 200_000, json.dumps({"op": "set-limit", "pad": "x" * 200_000}), "{" * 1500):
        posts = synced.click("write_confirm", value)
        text = text_of(posts[-1])
        assert "not valid any more" in text and "Traceback" not in text and len(text) < 300
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0
    # An alert's snooze button carries its id: 200 000 digits are no id (and no int() of them is tried).
    snoozed = text_of(synced.click("alert_snooze", "9" * 200_000)[-1])
    assert "not valid any more" in snoozed


def test_cancel_changes_nothing(synced: World) -> None:
    answer = synced.ask(f"set-limit {synced.member_email} 20")
    posts = synced.click("write_cancel", button_value(answer, "write_cancel"))
    assert "nothing was changed" in text_of(posts[-1])
    assert synced.cursor.stats.count(path="/teams/user-spend-limit") == 0


def test_set_limit_for_someone_not_on_the_team_is_a_readable_answer(synced: World) -> None:
    text = text_of(synced.ask("set-limit stranger@example.com 10"))
    assert "`stranger@example.com` is not a member of Cursor `cursor`" in text


def test_set_cap_team_wide_then_for_one_person(synced: World) -> None:
    answer = synced.ask("set-cap 500")
    question = text_of(answer)
    assert (
        "every person (team-wide)" in question
        and "500 credits" in question
        and "Current cap: no cap" in question
    )
    synced.click("write_confirm", button_value(answer, "write_confirm"))
    assert synced.windsurf.dataset.usage_cap(team_level=True) == Decimal(500)

    person = synced.windsurf.dataset.members[0].email
    answer = synced.ask(f"set-cap 40 {person}")
    synced.click("write_confirm", button_value(answer, "write_confirm"))
    assert synced.windsurf.dataset.usage_cap(user_email=person) == Decimal(40)
    answer = synced.ask(f"set-cap none {person}")
    assert "Current cap: 40 credits" in text_of(answer)
    synced.click("write_confirm", button_value(answer, "write_confirm"))
    assert synced.windsurf.dataset.usage_cap(user_email=person) is None
    assert ("set-cap", "ok", f"windsurf: {person} -> none") in _audit(synced)


def test_a_vendor_refusal_is_reported_and_audited_as_failed(synced: World) -> None:
    email = synced.member_email
    answer = synced.ask(f"set-limit {email} 150")
    synced.cursor.faults.fail(status=503, times=None, path="/teams/user-spend-limit")
    posts = synced.click("write_confirm", button_value(answer, "write_confirm"))
    assert "could not be reached" in text_of(posts[-1]) and "nothing was changed" in text_of(posts[-1])
    assert ("set-limit", "failed", f"cursor: {email} -> 150") in _audit(synced)
    assert synced.cursor.dataset.limit_dollars(email) != 150
