"""The threadpool over time, as a learner reads it: tokens borrowed, callers waiting, waves."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi_async_katas.engine.loans import Borrow, Wave, waves_of

TIMELINE_WIDTH = 48
WAIT, RUN = "·", "█"
LEVELS = " ▁▂▃▄▅▆▇█"


def threadpool_lines(
    events: Sequence[tuple[float, int, int, float]], borrows: Sequence[Borrow], limit: float, began: float, ended: float
) -> list[str]:
    """The threadpool over time (tokens borrowed, callers waiting) and the waves of requests.

    `events` are (time, borrowed, waiting, tokens) after each change, `borrows` the loans asked
    for between `began` and `ended`, `limit` the most tokens the limiter had meanwhile.
    """
    span = max(ended - began, 1e-6)
    peak = max((e[1] for e in events if e[0] >= began), default=0)
    waiting_peak = max((e[2] for e in events if e[0] >= began), default=0)
    lines = [
        f"The threadpool (anyio's default thread limiter; 0 to {span:.2f} s):",
        f"  tokens borrowed |{sparkline([(e[0], e[1]) for e in events], began, ended, limit)}| "
        f"at most {peak} of {limit:g}",
        f"  requests waiting|{sparkline([(e[0], e[2]) for e in events], began, ended, waiting_peak)}| "
        f"at most {waiting_peak}",
    ]
    first = min((e[0] for e in events if e[0] >= began and (e[1] or e[2])), default=None)
    if first is not None and first - began >= span / 24:
        # Blank at the start: the requests were on their way into the app, not yet at the pool.
        lines.append(f"  (the first {first - began:.2f} s: the requests on their way in, before the first asked for a thread)")
    waves = waves_of(borrows)
    if not waves:
        return lines
    lines += ["", f"Requests got a worker thread in {len(waves)} wave{'s' if len(waves) > 1 else ''} "
                  f"({WAIT} waiting for a thread, {RUN} running in one):"]
    labels = [_wave_label(w) for w in waves]
    width = max(len(label) for label in labels)
    for wave, label in zip(waves, labels):
        bar = wave_bar(wave.borrows, began, span, ended)
        done = max((b.released or ended) for b in wave.borrows) - began
        count = len(wave.borrows)
        lines.append(f"  {label:<{width}} |{bar}| {count} request{'s' if count > 1 else ''}, done by {done:.2f} s")
    if len(waves) > 1:
        lines.append("  A request of wave 2 got a thread only when one of wave 1 gave its thread back, and so on.")
    places = {b.place for b in borrows if b.place is not None}
    if len(places) == 1:
        place = places.pop()
        lines += ["", f"Each worker thread ran {place.function}() ({place.short()}), holding its token until it returned:",
                  f"      {place.code}"]
    return lines


def sparkline(points: list[tuple[float, int]], began: float, ended: float, top: float) -> str:
    """One character per column of time: the highest value in it, on a scale up to `top`."""
    span = max(ended - began, 1e-6)
    ordered = sorted(points, key=lambda p: p[0])
    cells = []
    value, i = 0, 0
    for c in range(TIMELINE_WIDTH):
        start, end = began + span * c / TIMELINE_WIDTH, began + span * (c + 1) / TIMELINE_WIDTH
        while i < len(ordered) and ordered[i][0] <= start:
            value = ordered[i][1]
            i += 1
        highest = value
        while i < len(ordered) and ordered[i][0] < end:
            value = ordered[i][1]
            highest = max(highest, value)
            i += 1
        cells.append(_level(highest, top))
    return "".join(cells)


def _level(value: float, top: float) -> str:
    if value <= 0 or top <= 0:
        return LEVELS[0]
    return LEVELS[max(1, min(8, round(8 * value / top)))]


def wave_bar(borrows: Sequence[Borrow], began: float, span: float, ended: float) -> str:
    """`·` from the first request of the wave asking for a thread until it got one, then `█`."""
    scale = TIMELINE_WIDTH / span

    def col(t: float) -> int:
        return min(TIMELINE_WIDTH - 1, max(0, int((t - began) * scale)))

    cells = [" "] * TIMELINE_WIDTH
    asked = min(b.asked for b in borrows)
    granted = min(b.granted for b in borrows)
    released = max(b.released or ended for b in borrows)
    for c in range(col(asked), col(granted)):
        cells[c] = WAIT
    for c in range(col(granted), col(released) + 1):
        cells[c] = RUN
    return "".join(cells)


def _wave_label(wave: Wave) -> str:
    numbers = wave.requests
    if not numbers:
        return f"wave {wave.number}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        who = f"#{numbers[0]}" if len(numbers) == 1 else f"#{numbers[0]}-#{numbers[-1]}"
    else:
        who = f"#{numbers[0]}…#{numbers[-1]}"
    return f"wave {wave.number} {who}"
