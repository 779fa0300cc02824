"""Charts drawn on the server as inline SVG with pygal, for pages that work without JavaScript.

pygal's default output links a tooltip script from a CDN; it is turned off (``js=[]``) and
the inline configuration script pygal still writes is removed, so a chart is plain SVG and
the site loads nothing from elsewhere. Rendering a chart costs a
few milliseconds, so results are cached by their exact inputs: pages whose data changes
once an hour or a day (stats, an application's usage) render each chart once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import pygal
from markupsafe import Markup
from pygal.style import Style

Series = Sequence[tuple[str, Sequence[int | float | None]]]

# Blue, orange and a dark green: distinguishable with the common colour-vision deficiencies,
# and each has at least 3:1 contrast against white.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#57606a",
    colors=("#0b5cad", "#c2410c", "#1a7f37", "#6f42c1", "#57606a"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=16,
    title_font_size=17,
    value_font_size=15,
)

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
_KINDS = {"line": pygal.Line, "bar": pygal.Bar}


def _label_every(count: int) -> int:
    """Show about six x labels, whatever the number of points (30 days on a phone)."""
    return max(1, round(count / 6))


@lru_cache(maxsize=256)
def _render(
    kind: str,
    title: str,
    labels: tuple[str, ...],
    series: tuple[tuple[str, tuple[int | float | None, ...]], ...],
    height: int,
) -> str:
    chart = _KINDS[kind](
        style=STYLE,
        js=[],
        height=height,
        width=640,
        explicit_size=False,
        disable_xml_declaration=True,
        show_dots=len(labels) <= 40,
        dots_size=2.5,
        stroke_style={"width": 2.5},
        x_label_rotation=0,
        show_minor_x_labels=False,
        x_labels_major_every=_label_every(len(labels)),
        truncate_label=-1,
        legend_at_bottom=True,
        legend_at_bottom_columns=max(1, len(series)),
        print_values=False,
        include_x_axis=True,
        no_data_text="No data yet",
        margin=12,
    )
    chart.title = title or None
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    svg: str = chart.render(is_unicode=True)
    return _SCRIPT.sub("", svg)


def chart(
    kind: str, title: str, labels: Sequence[str], series: Series, height: int = 300
) -> Markup:
    """An inline ``<svg>`` (kind ``line`` or ``bar``) with one named line or bar set per
    series; ``None`` values leave a gap. Put a table of the same numbers next to it for
    readers who cannot see the chart."""
    frozen = tuple((name, tuple(values)) for name, values in series)
    return Markup(_render(kind, title, tuple(labels), frozen, height))


def line_chart(title: str, labels: Sequence[str], series: Series, height: int = 300) -> Markup:
    return chart("line", title, labels, series, height)


def bar_chart(title: str, labels: Sequence[str], series: Series, height: int = 300) -> Markup:
    return chart("bar", title, labels, series, height)
