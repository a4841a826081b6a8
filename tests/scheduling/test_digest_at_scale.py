"""The weekly digest of a 5,000-person Copilot team with every section on (sources, cycles, top, credits,
headroom, open alerts, spikes, why, idle seats, freshness), posted through the fake Slack, which refuses
what Slack refuses: it stays within Slack's limits, and its figures match sums written here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from bot.domain.commands import SubscribeDigest, SubscribeSpike
from bot.domain.money import format_usd
from bot.domain.usage import Granularity, SpendRow, Unit, Vendor
from bot.messages.blocks import MAX_BLOCKS, readable_texts
from bot.services.clock import ManualClock
from bot.simulators.rest import RestSimulator
from bot.simulators.slack import FakeSlack
from bot.store.models import CreditSnapshot, MemberRow
from tests.scheduling.conftest import ADMIN, TEAM, build_services, make_settings

PEOPLE = 5_000
ACTIVE = 4_000  # the others have not used Copilot for 60 days: idle seats
SPIKED = 300  # of the active ones, spent $50 on the last day against a usual of about $1
SEAT_PRICE = Decimal(19)
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LAST = date(2026, 11, 22)  # the Sunday the weekly digest ends on
FIRST_STORED = LAST - timedelta(days=34)  # 28 days of baseline before the spike day, and two weeks


def _email(index: int) -> str:
    return f"p{index:04d}@acme.example"


def _cents(index: int, day: date) -> int:
    """Person ``index``'s spend on ``day``: a usual of $1.00 to $1.49 that grows 1 cent a day since the
    first stored day, and $50 on the last day for the first ``SPIKED`` people."""
    if index < SPIKED and day == LAST:
        return 5_000
    return 100 + index % 50 + (day - FIRST_STORED).days


async def test_a_weekly_digest_of_5000_people_with_every_section_fits_slacks_limits(
    tmp_path: Path, fake_slack: FakeSlack, rest_sim: tuple[RestSimulator, str]
) -> None:
    sim, url = rest_sim
    clock = ManualClock(MONDAY - timedelta(hours=2))
    fake_slack.set_clock(lambda: clock().timestamp())
    settings = make_settings(
        tmp_path,
        fake_slack,
        url,
        sim.api_key,
        copilot_token="ghp_scaletest",
        copilot_org="acme",
        copilot_api_url="http://127.0.0.1:9/never-called",
        copilot_seat_price=SEAT_PRICE,
    )
    services = build_services(settings, clock)
    await services.start(identify_workspace=False)
    await services.use_env_team(TEAM)
    try:
        for channel in ("CDIGEST", "CHIDDEN", "CALERTS"):
            fake_slack.add_channel(channel)
        copilot = await services.connections.get(TEAM, "copilot")
        assert copilot is not None and copilot.id is not None
        days = [FIRST_STORED + timedelta(days=n) for n in range((LAST - FIRST_STORED).days + 1)]
        rows = [
            SpendRow(
                vendor=Vendor.COPILOT,
                bucket_start=datetime.combine(day, time(0), tzinfo=UTC),
                granularity=Granularity.DAY,
                user_email=_email(index),
                model="gpt-5",
                amount=Decimal(_cents(index, day)),
                unit=Unit.USD_CENTS,
            )
            for day in days
            for index in range(ACTIVE)
        ]
        await services.store.sync.replace_days(copilot.id, FIRST_STORED, LAST, rows)
        idle_since = MONDAY - timedelta(days=60)
        await services.store.sync.replace_members(
            copilot.id,
            [
                MemberRow(
                    connection_id=copilot.id,
                    email=_email(index),
                    name=f"Person {index}",
                    seen_at=MONDAY,
                    last_active_at=idle_since if index >= ACTIVE else MONDAY - timedelta(days=1),
                )
                for index in range(PEOPLE)
            ],
        )
        month = datetime(2026, 11, 1, tzinfo=UTC)
        await services.store.sync.add_reading(
            CreditSnapshot(
                connection_id=copilot.id,
                observed_at=MONDAY - timedelta(hours=3),
                cycle_start=month,
                cycle_end=datetime(2026, 12, 1, tzinfo=UTC),
                unit="usd_cents",
                size=Decimal(20_000_000),
                used=Decimal(10_000_000),
                remaining=Decimal(10_000_000),
                pools=[{"name": "ai_credits", "size": "20000000", "used": "10000000"}],
            )
        )
        # The open alerts: one spike alert per spiking person, posted (grouped) in CALERTS.
        await services.subscriptions.subscribe(TEAM, "CALERTS", ADMIN, SubscribeSpike())
        clock.set(datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
        await services.alerts.check_team(TEAM)
        alert_posts = fake_slack.channel_messages("CALERTS")
        assert alert_posts and all(len(post.blocks) <= MAX_BLOCKS for post in alert_posts)

        weekly = SubscribeDigest(at=time(9, 0), tz="UTC", weekdays=frozenset({0}), cadence="weekly")
        await services.subscriptions.subscribe(TEAM, "CDIGEST", ADMIN, weekly)
        hidden = SubscribeDigest(
            at=time(9, 0), tz="UTC", weekdays=frozenset({0}), cadence="weekly", no_names=True
        )
        await services.subscriptions.subscribe(TEAM, "CHIDDEN", ADMIN, hidden)
        clock.set(MONDAY + timedelta(minutes=1))
        run = await services.publisher.run_due_digests()
        assert run.posted == 2
        (posted,) = fake_slack.channel_messages("CDIGEST")
        (unnamed,) = fake_slack.channel_messages("CHIDDEN")
    finally:
        await services.close()

    texts = readable_texts(posted.blocks)
    assert len(posted.blocks) <= MAX_BLOCKS and all(len(text) <= 3000 for text in texts)
    assert sum(1 for block in posted.blocks if block["type"] == "table") <= 1
    shown = "\n".join([posted.text, *texts])
    # Idle seats: the 1,000 people without use for 60 days, at $19 a seat.
    idle_dollars = format_usd(Decimal(PEOPLE - ACTIVE) * SEAT_PRICE * 100)
    assert f"*Idle seats*\n1,000 seats unused for 30 days, *{idle_dollars}* a month." in shown, shown
    # Spikes: five named, the rest counted.
    assert "*Spikes* (UTC day, 3× the usual and $20 at least)" in shown
    assert f"+{SPIKED - 5} more" in shown
    # Why it changed: the week against the week before, to the cent.
    week = [LAST - timedelta(days=n) for n in range(7)]
    before = [day - timedelta(days=7) for day in week]
    change = sum(_cents(i, d) for i in range(ACTIVE) for d in week) - sum(
        _cents(i, d) for i in range(ACTIVE) for d in before
    )
    assert f"*Why +{format_usd(Decimal(change))}:*" in shown, shown
    # Open alerts: ten of the 300 spike alerts, and how many more.
    assert (
        "*Open alerts*\n:rotating_light: *p0000@acme.example spent far above their usual on Copilot*" in shown
    )
    assert f"+{SPIKED - 10} more open alerts" in shown
    # Under no-names nobody is named, the open spike alerts included, and the counts stay.
    hidden_text = "\n".join([unnamed.text, *readable_texts(unnamed.blocks)])
    assert "@acme.example" not in hidden_text, hidden_text
    assert f"{SPIKED} people spent far above their usual." in hidden_text
    assert "A person spent far above their usual (names are not shown in this channel)" in hidden_text
    assert f"+{SPIKED - 10} more open alerts" in hidden_text
