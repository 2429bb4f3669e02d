"""The report's figures as inline SVG strings, drawn from the report dict alone.

Drawing from the dict (not the database) lets the study page and the HTML file show the same plots
from a stored report. The charts are simple (bars, lines, points, a heatmap), so the SVG is written
directly: a figure costs well under a millisecond instead of a plotting library's layout passes,
whatever the study's size (a chart never draws more than its aggregated points). The same report
gives byte-identical SVG: no random ids, fixed number formats.

Accessibility: every chart is an image (role="img") named by its figure caption through
aria-labelledby="<chart id>-caption" (chart_id() gives the id the templates use); its text is hidden from
assistive technology (read tick by tick it says nothing) and the table printed beside each chart is the
accessible version of its data. No text is drawn smaller than 11 px.
"""
from __future__ import annotations

import math
from html import escape

from django.utils.text import slugify

MIN_FONT = 11  # px; nothing is drawn smaller
TITLE_FONT = 12
CHAR = 0.6  # average glyph width per px of font size, for laying out labels
INK, MUTED, GRID = "#1a1a1a", "#5b6475", "#e3e6ea"
SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")
RDBU = ("#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3",
        "#2166ac", "#053061")  # ColorBrewer RdBu, -1 (red) to +1 (blue)
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
ORDER_POINTS = 60  # at most this many blocks of display positions are plotted and tabulated


def chart_id(kind: str, key: str = "") -> str:
    """The chart's id on the page: its caption is "<id>-caption" (the templates build the same with slugify)."""
    return f"fig-{slugify(key)}-{kind}" if key else f"fig-{kind}"


def _width(text: str, size: int = MIN_FONT) -> float:
    return len(text) * size * CHAR


def _labels(ticks: list[float]) -> list[str]:
    """Tick labels with the fewest decimals that still tell the ticks apart exactly."""
    for digits in range(7):
        text = [f"{v + 0.0:.{digits}f}" for v in ticks]
        if all(abs(float(t) - v) <= 1e-9 * max(1.0, abs(v)) for t, v in zip(text, ticks, strict=True)):
            return text
    return [f"{v:g}" for v in ticks]


def _mix(palette: tuple[str, ...], t: float) -> str:
    """The colour at t (0..1) along a palette, interpolated linearly between its stops."""
    t = min(max(t, 0.0), 1.0) * (len(palette) - 1)
    i = min(int(t), len(palette) - 2)
    a, b = palette[i], palette[i + 1]
    rgb = [round(int(a[k:k + 2], 16) + (int(b[k:k + 2], 16) - int(a[k:k + 2], 16)) * (t - i)) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    """About n round tick values covering [low, high] (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if not high > low:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    return [round(first + i * step, 10) for i in range(math.ceil((high - first) / step - 1e-9) + 1)]


class Canvas:
    """A list of SVG elements in a width x height box; text is hidden from assistive technology."""

    def __init__(self, width: float, height: float):
        self.width, self.height, self.parts = width, height, []

    def rect(self, x, y, w, h, fill, **extra):
        attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in extra.items())
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                          f'fill="{fill}"{attrs}/>')

    def line(self, x1, y1, x2, y2, stroke=INK, width=1.0, dash=""):
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
                          f'stroke-width="{width}"{dashed}/>')

    def polyline(self, points, stroke, width=1.5):
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.parts.append(f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="{width}"/>')

    def dot(self, x, y, fill, r=3.5):
        self.parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}"/>')

    def text(self, x, y, text, size=MIN_FONT, anchor="start", fill=INK, rotate=False, bold=False):
        turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" dy="0.35em" text-anchor="{anchor}" fill="{fill}" '
                          f'style="font-size: {size}px"{weight}{turn} aria-hidden="true">{escape(str(text))}</text>')

    def svg(self, name: str) -> str:
        return (f'<svg role="img" aria-labelledby="{name}-caption" focusable="false" '
                f'xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}" height="{self.height:.0f}" '
                f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" font-family="sans-serif">'
                + "".join(self.parts) + "</svg>")


class Axes:
    """A plotting area on a canvas with linear x and y scales, drawn with ticks, grid and labels."""

    def __init__(self, canvas: Canvas, box: tuple[float, float, float, float], xs: list[float], ys: list[float]):
        self.c, (self.left, self.top, self.w, self.h) = canvas, box
        self.xt, self.yt = xs, ys
        self.x0, self.x1, self.y0, self.y1 = xs[0], xs[-1], ys[0], ys[-1]

    def x(self, v: float) -> float:
        return self.left + (v - self.x0) / ((self.x1 - self.x0) or 1) * self.w

    def y(self, v: float) -> float:
        return self.top + self.h - (v - self.y0) / ((self.y1 - self.y0) or 1) * self.h

    def frame(self, xlabel: str = "", ylabel: str = "", grid: bool = True, yticks: bool = True) -> None:
        c, bottom = self.c, self.top + self.h
        for v, text in zip(self.xt, _labels(self.xt), strict=True):
            if grid:
                c.line(self.x(v), self.top, self.x(v), bottom, GRID)
            c.text(self.x(v), bottom + 10, text, anchor="middle")
        for v, text in zip(self.yt, _labels(self.yt), strict=True) if yticks else ():
            if grid:
                c.line(self.left, self.y(v), self.left + self.w, self.y(v), GRID)
            c.text(self.left - 5, self.y(v), text, anchor="end")
        c.line(self.left, bottom, self.left + self.w, bottom, MUTED)
        c.line(self.left, self.top, self.left, bottom, MUTED)
        if xlabel:
            c.text(max(self.left + self.w / 2, _width(xlabel) / 2 + 5), bottom + 27, xlabel, anchor="middle")
        if ylabel:
            c.text(self.left - 52, self.top + self.h / 2, ylabel, anchor="middle", rotate=True)


def _span(values: list[float], margin: float = 0.0) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * margin if high > low else max(abs(high), 1.0) * 0.1
    return low - pad, high + pad


def _heading(c: Canvas, title: str, subtitle: str = "") -> None:
    c.text(5, 12, title, TITLE_FONT, bold=True)
    if subtitle:
        c.text(5, 30, subtitle, fill=MUTED)


def kappa_heatmap(dim: dict, key: str = "") -> str | None:
    pairwise = dim["agreement"].get("pairwise")
    if not pairwise or len(pairwise["raters"]) < 2:
        return None
    raters = [str(r) for r in pairwise["raters"]]
    n, index = len(raters), {r: i for i, r in enumerate(pairwise["raters"])}
    matrix = [[1.0 if i == j else None for j in range(n)] for i in range(n)]
    for pair in pairwise["pairs"]:
        i, j = index[pair["rater_a"]], index[pair["rater_b"]]
        matrix[i][j] = matrix[j][i] = pair["kappa"]["value"]
    cell = min(40.0, max(14.0, 420.0 / n))
    label = max(_width(r) for r in raters) + 8
    weights = pairwise.get("weights") or "unweighted"
    title = f"{dim['label']}: pairwise Cohen's kappa ({weights}); blank = no shared items"
    grid_w = cell * n
    c = Canvas(max(label + grid_w + 80, _width(title, TITLE_FONT) + 10), 30 + grid_w + label)
    top = 30
    _heading(c, title)
    for i in range(n):
        c.text(label - 4, top + (i + 0.5) * cell, raters[i], anchor="end")
        c.text(label + (i + 0.5) * cell, top + grid_w + 4, raters[i], anchor="end", rotate=True)
        for j in range(n):
            v = matrix[i][j]
            if v is None:
                continue
            c.rect(label + j * cell, top + i * cell, cell, cell, _mix(RDBU, (v + 1) / 2))
            if n <= 10 and i != j:
                c.text(label + (j + 0.5) * cell, top + (i + 0.5) * cell, f"{v:.2f}", anchor="middle",
                       fill="#ffffff" if abs(v) > 0.6 else INK)
    bar = label + grid_w + 20
    for k in range(40):  # the colour scale, -1 at the bottom
        c.rect(bar, top + grid_w * (1 - (k + 1) / 40), 12, grid_w / 40 + 0.5, _mix(RDBU, (k + 0.5) / 40))
    for v in (-1, 0, 1):
        c.text(bar + 16, top + grid_w * (1 - (v + 1) / 2), str(v))
    return c.svg(chart_id("heatmap", key))


def confidence_bars(report: dict) -> str | None:
    levels = report["meta"]["confidence_levels"]
    rows = []
    for dim in report["dimensions"].values():
        conf = dim["confidence"]
        for who, dist in (("clinicians", conf["distribution"]), ("judge", conf["judge_distribution"])):
            if dist and dist["n"]:
                rows.append((f"{dim['label']} ({who}, n={dist['n']})", [dist["proportions"][lv] or 0 for lv in levels]))
    if not rows or not levels:
        return None
    label, bar, row = max(_width(r[0]) for r in rows) + 10, 400, 26
    colours = [_mix(VIRIDIS, k / max(len(levels) - 1, 1)) for k in range(len(levels))]
    c = Canvas(label + bar + 20, 40 + row * len(rows) + 40)
    x = label
    for level, colour in zip(levels, colours, strict=True):  # the legend
        c.rect(x, 8, 11, 11, colour)
        c.text(x + 15, 14, level)
        x += _width(str(level)) + 30
    axes = Axes(c, (label, 30, bar, row * len(rows)), [0, 0.2, 0.4, 0.6, 0.8, 1.0], [0, 1])
    for i, (name, shares) in enumerate(rows):
        y, left = 30 + i * row + 3, 0.0
        c.text(label - 6, y + (row - 6) / 2, name, anchor="end")
        for k, w in enumerate(shares):
            c.rect(axes.x(left), y, w * bar, row - 6, colours[k])
            if w >= 0.06:
                c.text(axes.x(left + w / 2), y + (row - 6) / 2, f"{w * 100:.0f}%", anchor="middle",
                       fill="#ffffff" if k < len(levels) - 1 else INK)
            left += w
    axes.frame("share of ratings", grid=False, yticks=False)
    return c.svg(chart_id("confidence"))


def rank_plot(dim: dict, key: str = "") -> str | None:
    ranking = dim.get("rankings") or {}
    overall = ranking.get("overall")
    if not ranking.get("available") or not overall:
        return None
    points = [(str(name), a, b) for name, a, b in zip(overall["conditions"], overall["mean_a"], overall["mean_b"],
                                                      strict=True) if a is not None and b is not None]
    if not points:
        return None
    tau = overall["kendall_tau_b"]["value"]
    title = (f"{dim['label']}: personas, clinicians vs judge on matched responses "
             f"(Kendall tau-b {'n/a' if tau is None else f'{tau:.2f}'})")
    subtitle = f"both axes: {ranking['score']}"
    right = max(_width(p[0]) for p in points) + 10
    c = Canvas(max(75 + 320 + right, _width(title, TITLE_FONT) + 10, _width(subtitle) + 10), 46 + 280 + 45)
    _heading(c, title, subtitle)
    axes = Axes(c, (75, 46, 320, 280), _ticks(*_span([p[1] for p in points], 0.2)),
                _ticks(*_span([p[2] for p in points], 0.2)))
    axes.frame("clinicians' mean", "judge's mean")
    for name, a, b in points:
        c.dot(axes.x(a), axes.y(b), SERIES[0])
        c.text(axes.x(a) + 5, axes.y(b) - 7, name)
    return c.svg(chart_id("rank", key))


def rank_points(dim: dict) -> list[dict]:
    """The rank plot's points as table rows (persona, clinicians' mean, judge's mean)."""
    overall = (dim.get("rankings") or {}).get("overall") or {}
    return [{"persona": c, "clinicians": a, "judge": b}
            for c, a, b in zip(overall.get("conditions", []), overall.get("mean_a", []), overall.get("mean_b", []),
                               strict=True)
            if a is not None and b is not None]


def forest_plot(report: dict) -> str | None:
    """One panel per measure and subset (all cases, then each model): one row per persona, its CI."""
    effects = report.get("persona_effects") or {}
    rows = [r for r in effects.get("rows", []) if r["stratum"] in ("all", "model") and r["difference"] is not None]
    if not rows:
        return None
    panels: dict[tuple, list] = {}
    for r in sorted(rows, key=lambda r: (r["measure"], r["stratum"] != "all", r["value"], r["persona"])):
        panels.setdefault((r["measure"], r["stratum"], r["value"]), []).append(r)
    labels = {id(r): f"{r['persona']} (n={r['n_cases']} cases)" for r in rows}
    label, plot, row = max(_width(t) for t in labels.values()) + 10, 360, 20
    xlabel = f"persona minus {effects['baseline']} (mean per-case difference, case bootstrap CI)"
    height = sum(30 + row * len(p) + 24 for p in panels.values()) + 30
    titles = [f"{measure}, {'all cases' if stratum == 'all' else f'model {value}'}: {panel[0]['score']}"
              for (measure, stratum, value), panel in panels.items()]
    c = Canvas(max(label + plot + 30, _width(xlabel) + 20, *(_width(t) + 10 for t in titles)), height)
    top = 0.0
    for title, panel in zip(titles, panels.values(), strict=True):
        c.text(5, top + 12, title)
        ends = [v for r in panel for v in (r["ci_low"], r["ci_high"], r["difference"]) if v is not None] + [0.0]
        axes = Axes(c, (label, top + 26, plot, row * len(panel)), _ticks(*_span(ends, 0.05)), [0, 1])
        axes.frame(grid=True, yticks=False)
        c.line(axes.x(0), axes.top, axes.x(0), axes.top + axes.h, INK)
        for i, r in enumerate(panel):
            y = axes.top + (i + 0.5) * row
            c.text(label - 6, y, labels[id(r)], anchor="end")
            if r["ci_low"] is not None:
                c.line(axes.x(r["ci_low"]), y, axes.x(r["ci_high"]), y, MUTED, 1.2)
            c.dot(axes.x(r["difference"]), y,
                  "#067647" if r["difference"] > 0 else "#b42318" if r["difference"] < 0 else MUTED)
        top += 30 + row * len(panel) + 24
    c.text(label + plot / 2, height - 10, xlabel, anchor="middle")
    return c.svg(chart_id("forest"))


def reliability_diagram(report: dict) -> str | None:
    evaluation = report.get("evaluation") or {}
    if not evaluation.get("available"):
        return None
    series = []
    for name, block in [("all", evaluation["overall"]), *evaluation["by_persona"].items()]:
        bins = [b for b in block["calibration"]["bins"] if b["n"] and b["mean_confidence"] is not None]
        if bins:
            ece = block["calibration"]["ece"]["value"]
            series.append((f"{name} (ECE {'n/a' if ece is None else f'{ece:.3f}'})", bins))
    if not series:
        return None
    legend = max(_width(s[0]) for s in series) + 30
    c = Canvas(75 + 300 + 20 + legend, max(30 + 300 + 45, 30 + 18 * len(series)))
    _heading(c, "Reliability diagram (triage answers)")
    unit = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    axes = Axes(c, (75, 30, 300, 300), unit, unit)
    axes.frame("stated confidence", "accuracy")
    c.line(axes.x(0), axes.y(0), axes.x(1), axes.y(1), "#999999", 0.8, "4 3")
    for k, (name, bins) in enumerate(series):
        colour = SERIES[k % len(SERIES)]
        points = [(axes.x(b["mean_confidence"]), axes.y(b["accuracy"])) for b in bins]
        c.polyline(points, colour)
        for x, y in points:
            c.dot(x, y, colour, 3)
        c.rect(395, 30 + 18 * k, 11, 11, colour)
        c.text(411, 36 + 18 * k, name)
    return c.svg(chart_id("reliability"))


def order_points(dim: dict) -> list[dict]:
    """The order effect's non-empty blocks of display positions, adjacent ones merged so that at most
    ORDER_POINTS remain (a merged block's mean is its ratings' mean): the plotted and tabulated points."""
    buckets = [b for b in dim["order_effect"]["buckets"] if b["n"] and b["mean"] is not None]
    size = math.ceil(len(buckets) / ORDER_POINTS) if buckets else 1
    if size == 1:
        return [{"first": b["first"], "last": b["last"], "n": b["n"], "mean": b["mean"]} for b in buckets]
    out = []
    for start in range(0, len(buckets), size):
        group = buckets[start:start + size]
        n = sum(b["n"] for b in group)
        out.append({"first": group[0]["first"], "last": group[-1]["last"], "n": n,
                    "mean": sum(b["n"] * b["mean"] for b in group) / n})
    return out


def order_plot(dim: dict, key: str = "") -> str | None:
    points = order_points(dim)
    if len(points) < 2:
        return None
    title = f"{dim['label']}: score by display position"
    subtitle = f"score: {dim['order_effect']['score']}"
    c = Canvas(max(75 + 420 + 20, _width(title, TITLE_FONT) + 10, _width(subtitle) + 10), 46 + 200 + 45)
    _heading(c, title, subtitle)
    middles = [(p["first"] + p["last"]) / 2 for p in points]
    axes = Axes(c, (75, 46, 420, 200), _ticks(*_span(middles)), _ticks(*_span([p["mean"] for p in points], 0.1)))
    axes.frame("display position in the rater's queue", "mean score")
    xy = [(axes.x(m), axes.y(p["mean"])) for m, p in zip(middles, points, strict=True)]
    c.polyline(xy, SERIES[0])
    for x, y in xy:
        c.dot(x, y, SERIES[0], 2.5)
    return c.svg(chart_id("order", key))


def pair_rows(dim: dict) -> list[dict]:
    """Every rater pair of the summary with its kappa under each other weighting, for the pairs table."""
    variants = {w: {(p["rater_a"], p["rater_b"]): p["kappa"] for p in pk["pairs"]}
                for w, pk in (dim.get("pairwise_variants") or {}).items()}
    return [{**pair, "variants": [variants[w].get((pair["rater_a"], pair["rater_b"])) for w in variants]}
            for pair in (dim["agreement"].get("pairwise") or {}).get("pairs", [])]


def report_figures(report: dict) -> dict:
    """{"confidence": svg, "forest": svg, "reliability": svg, "dimensions": {key: {"heatmap", "rank", "order": svg,
    "rank_points": rows of the rank plot, "order_points": rows of the order plot, "pair_rows": the pairs table}}}."""
    return {
        "confidence": confidence_bars(report),
        "forest": forest_plot(report),
        "reliability": reliability_diagram(report),
        "dimensions": {
            key: {"heatmap": kappa_heatmap(dim, key), "rank": rank_plot(dim, key), "order": order_plot(dim, key),
                  "rank_points": rank_points(dim), "order_points": order_points(dim), "pair_rows": pair_rows(dim)}
            for key, dim in report["dimensions"].items()
        },
    }
