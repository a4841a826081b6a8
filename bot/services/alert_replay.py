"""Replaying alert readings over past days through the live alerts' state machine (``backtest``).

Each day's readings are what the alerts would have measured at that UTC day's end; they are held for the
next 24 hours of checks, one check every ``remind_every`` (at most a day apart), so a firing alert
reminds as often as the live one would. Each key (metric, threshold, cycle) has its own state, as live:
a key that stops appearing (its cycle is over) is left as it was, neither resolved nor reminded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from bot.domain.alerts import AlertAction, AlertState, AlertStatus, Episode, step_alert
from bot.services.alert_readings import Reading

DAY = timedelta(days=1)


def replay_readings(days: Sequence[tuple[date, Sequence[Reading]]], remind_every: timedelta) -> list[Episode]:
    """The episodes the readings of ``days`` (oldest first) would have posted, in the order they fired."""
    step = min(remind_every, DAY)
    checks = max(1, -(-DAY // step))  # checks in one day's 24 hours
    states: dict[tuple[str, str, str], AlertState] = {}
    open_episodes: dict[tuple[str, str, str], int] = {}
    episodes: list[Episode] = []
    for day, readings in days:
        first_check = datetime.combine(day + DAY, time(0), tzinfo=UTC)
        for index in range(checks):
            now = first_check + index * step
            for reading in readings:
                key = (reading.metric, reading.threshold, reading.cycle)
                state = states.get(key, AlertState())
                breached = reading.staying if state.status is AlertStatus.FIRING else reading.entering
                states[key], action = step_alert(state, breached=breached, now=now, remind_every=remind_every)
                if action is AlertAction.FIRE:
                    open_episodes[key] = len(episodes)
                    episodes.append(Episode(reading.title, *key, fired_on=day))
                elif action is AlertAction.REMIND:
                    at = open_episodes[key]
                    episodes[at] = replace(episodes[at], reminders=episodes[at].reminders + 1)
                elif action is AlertAction.RESOLVE:
                    at = open_episodes.pop(key)
                    episodes[at] = replace(episodes[at], resolved_on=day)
    last_keys = (
        {(reading.metric, reading.threshold, reading.cycle) for reading in days[-1][1]} if days else set()
    )
    for key, at in open_episodes.items():
        episodes[at] = replace(episodes[at], still_firing=key in last_keys)
    return episodes
