"""Small charts as inline SVG, drawn on the server: no script, no inline style (the CSP
allows neither), colours from the stylesheet's classes so light and dark both work.
Each chart has a title and a description for screen readers; the page shows the same
figures in a table next to it."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640


def _svg(height: int, title: str, desc: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{''.join(body)}</svg>")


def columns(values: Sequence[float], labels: Sequence[str], title: str, *,
            marker: int | None = None, marker_label: str = "", every: int = 1) -> Markup:
    """A column chart; `marker` draws a dashed line after that column (e.g. the deadline);
    only every `every`-th label is written under its column."""
    height, top, bottom, left = 200, 16, 34, 34
    plot_h, n = height - top - bottom, max(1, len(values))
    step = (WIDTH - left - 8) / n
    peak = max(max(values, default=0), 1)
    body = [f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{WIDTH - 8}" '
            f'y2="{top + plot_h}"/>',
            f'<text x="{left - 6}" y="{top + 8}" text-anchor="end">{_num(peak)}</text>',
            f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * value / peak
        x = left + i * step + step * 0.1
        body.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                    f'width="{step * 0.8:.1f}" height="{h:.1f}"><title>{escape(label)}: '
                    f"{_num(value)}</title></rect>")
        if i % every == 0:
            body.append(f'<text x="{x + step * 0.4:.1f}" y="{height - bottom + 14}" '
                        f'text-anchor="middle">{escape(label)}</text>')
    if marker is not None and 0 <= marker < n:
        x = left + (marker + 1) * step
        body.append(f'<line class="deadline" x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" '
                    f'y2="{top + plot_h}"/><text x="{x - 4:.1f}" y="{top + 2}" '
                    f'text-anchor="end">{escape(marker_label)}</text>')
    desc = "; ".join(f"{label}: {_num(v)}" for v, label in zip(values, labels, strict=True))
    return _svg(height, title, desc, body)


def bars(rows: Sequence[tuple[str, float, float, str]], title: str) -> Markup:
    """Horizontal bars, one per (label, first part, second part, note), parts as fractions
    of the full width (e.g. failed and partial); the label is written above its bar."""
    row_h, left = 38, 4
    height = max(40, row_h * len(rows) + 8)
    usable = WIDTH - left - 70
    body = []
    for i, (label, first, second, note) in enumerate(rows):
        y = 4 + i * row_h
        body.append(f'<text x="{left}" y="{y + 11}">{escape(label)}</text>')
        body.append(f'<rect class="axis" x="{left}" y="{y + 16}" width="{usable}" height="14" '
                    f'fill="none"/>')
        w1, w2 = usable * max(0.0, first), usable * max(0.0, second)
        body.append(f'<rect class="bar" x="{left}" y="{y + 16}" width="{w1:.1f}" height="14">'
                    f"<title>{escape(label)}: {escape(note)}</title></rect>")
        if w2 > 0:
            body.append(f'<rect class="bar-alt" x="{left + w1:.1f}" y="{y + 16}" '
                        f'width="{w2:.1f}" height="14"/>')
        body.append(f'<text x="{left + usable + 6}" y="{y + 28}">{escape(note)}</text>')
    desc = "; ".join(f"{label}: {note}" for label, _, _, note in rows)
    return _svg(height, title, desc, body)


def _num(value: float) -> str:
    return f"{value:g}"
