"""The 7-day freshness strip: one cell per hour, coloured by the read health the sweep recorded."""

from datetime import datetime, timedelta

from django.utils.html import format_html, format_html_join

from syncs.models import EXPECTED, GREEN, RED

HOURS = 7 * 24
COLOURS = {GREEN: "#1f8a4c", RED: "#c62828", EXPECTED: "#8aa4c0"}


def hourly_states(current: str, changes: list, now: datetime) -> list[str]:
    """Health per hour, oldest first, from the changes recorded in the window (ordered by time)."""
    start = now - timedelta(hours=HOURS)
    in_window = [c for c in changes if c.created_at >= start]
    state = in_window[0].from_health if in_window else current
    states, index = [], 0
    for hour in range(HOURS):
        hour_end = start + timedelta(hours=hour + 1)
        worst = state
        while index < len(in_window) and in_window[index].created_at < hour_end:
            state = in_window[index].to_health
            worst = RED if RED in (worst, state) else state
            index += 1
        states.append(worst)
    return states


def strip_svg(states: list[str]) -> str:
    green = sum(1 for s in states if s == GREEN)
    label = f"Read health over the last 7 days: {round(100 * green / len(states))}% of hours fresh"
    cells = format_html_join("", '<rect x="{}" y="0" width="2" height="16" fill="{}"></rect>',
                             ((i * 2, COLOURS.get(s, COLOURS[GREEN])) for i, s in enumerate(states)))
    return format_html('<svg class="strip" role="img" aria-label="{}" viewBox="0 0 {} 16" width="{}" height="16">'
                       '<title>{}</title>{}</svg>', label, len(states) * 2, len(states) * 2, label, cells)
