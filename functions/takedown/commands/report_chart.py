"""The time-to-notice chart of ``takedown report``: a histogram drawn with Pillow (already a dependency) as PNG.

The bins come from ``takedown.cases.reporting.histogram``; this module only chooses a readable unit and draws.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

from takedown.cases.intervals import percentile
from takedown.cases.reporting import histogram

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

WIDTH, HEIGHT = 900, 520
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 30, 60, 70
BAR = (70, 110, 170)
P50_LINE = (30, 140, 60)
P95_LINE = (200, 90, 30)
INK = (30, 30, 30)
GRID = (225, 225, 225)


def display_unit(largest_seconds: float) -> tuple[str, float]:
    """The unit the x axis is labelled in, and its length in seconds.

    >>> display_unit(90), display_unit(3000), display_unit(30000)
    (('seconds', 1.0), ('minutes', 60.0), ('hours', 3600.0))
    """
    if largest_seconds < 120:
        return "seconds", 1.0
    if largest_seconds < 3 * 3600:
        return "minutes", 60.0
    return "hours", 3600.0


def _label(value: float) -> str:
    return f"{value:g}" if value < 1000 else f"{value:.0f}"


def draw_time_to_notice_chart(seconds: Sequence[float], path: Path) -> Path:
    """Write a PNG histogram of the time from first sighting to notice drafted, with p50 and p95 marked.

    With no values the image says so: the file is always a valid PNG.
    """
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    title_font = ImageFont.load_default(size=18)
    draw.text(
        (MARGIN_LEFT, 20),
        f"Time from first sighting to notice drafted ({len(seconds)} cases)",
        fill=INK,
        font=title_font,
    )
    plot_left, plot_right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    plot_top, plot_bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    draw.line([(plot_left, plot_bottom), (plot_right, plot_bottom)], fill=INK, width=2)
    draw.line([(plot_left, plot_top), (plot_left, plot_bottom)], fill=INK, width=2)
    if not seconds:
        draw.text(
            (plot_left + 20, (plot_top + plot_bottom) // 2),
            "no case has been drafted yet",
            fill=INK,
            font=font,
        )
        image.save(path, "PNG")
        return path

    unit, unit_seconds = display_unit(max(seconds))
    values = [s / unit_seconds for s in seconds]
    bins = histogram(values)
    # Whole-case ticks: four steps at most, the axis top a whole number of steps.
    tick = max(1, math.ceil(max(b.count for b in bins) / 4))
    tallest = tick * math.ceil(max(b.count for b in bins) / tick)
    span = bins[-1].high

    def x_of(value: float) -> float:
        return plot_left + (plot_right - plot_left) * value / span

    def y_of(count: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * count / tallest

    for count in range(tick, tallest + 1, tick):
        y = y_of(count)
        draw.line([(plot_left, y), (plot_right, y)], fill=GRID)
        draw.text((plot_left - 8, y), str(count), fill=INK, font=font, anchor="rm")
    for index, cell in enumerate(bins):
        if cell.count:
            draw.rectangle(
                [x_of(cell.low) + 2, y_of(cell.count), x_of(cell.high) - 2, plot_bottom - 1], fill=BAR
            )
        if index % 2 == 0 or len(bins) <= 8:
            draw.text((x_of(cell.low), plot_bottom + 8), _label(cell.low), fill=INK, font=font, anchor="mt")
    draw.text((x_of(span), plot_bottom + 8), _label(span), fill=INK, font=font, anchor="mt")
    draw.text(((plot_left + plot_right) // 2, HEIGHT - 24), unit, fill=INK, font=font, anchor="mm")
    draw.text((14, plot_top - 30), "cases", fill=INK, font=font)

    for name, q, colour in (("p50", 50, P50_LINE), ("p95", 95, P95_LINE)):
        value = percentile(values, q)
        x = x_of(value)
        draw.line([(x, plot_top), (x, plot_bottom)], fill=colour, width=2)
        where, text = (x + 4, plot_top + (0 if q == 50 else 18)), f"{name} {value:.1f}"
        # On a white patch, so a bar behind the label does not hide it.
        draw.rectangle(draw.textbbox(where, text, font=font), fill="white")
        draw.text(where, text, fill=colour, font=font)
    image.save(path, "PNG")
    return path
