"""The report's figures as inline SVG strings, drawn from the report dict alone.

Drawing from the dict (not the database) lets the study page and the HTML file show the same plots
from a stored report. Text stays text (svg.fonttype "none") and ids are salted with a constant, so
the same report gives byte-identical SVG.

Accessibility: every chart is an image (role="img") named by its figure caption through
aria-labelledby="<chart id>-caption" (chart_id() gives the id the templates use); its text is hidden from
assistive technology (read tick by tick it says nothing) and the table printed beside each chart is the
accessible version of its data. No text is drawn smaller than 11 px.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from django.utils.text import slugify  # noqa: E402

MIN_FONT = 11  # px in the SVG's own units; nothing is drawn smaller
RC = {"svg.fonttype": "none", "svg.hashsalt": "persona-lab", "font.size": MIN_FONT, "axes.titlesize": 12,
      "legend.fontsize": MIN_FONT, "legend.title_fontsize": MIN_FONT}


def chart_id(kind: str, key: str = "") -> str:
    """The chart's id on the page: its caption is "<id>-caption" (the templates build the same with slugify)."""
    return f"fig-{slugify(key)}-{kind}" if key else f"fig-{kind}"


def _label(text) -> str:
    """Names are data: keep matplotlib from reading $...$ in them as mathtext."""
    return str(text).replace("$", r"\$")


def _svg(fig, name: str) -> str:
    """The figure as an image named by its caption; its text (ticks, labels, values) hidden from screen readers."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = text.replace("<svg ", f'<svg role="img" aria-labelledby="{name}-caption" focusable="false" ', 1)
    return text.replace("<text ", '<text aria-hidden="true" ')


def kappa_heatmap(dim: dict, key: str = "") -> str | None:
    pairwise = dim["agreement"].get("pairwise")
    if not pairwise or len(pairwise["raters"]) < 2:
        return None
    raters = pairwise["raters"]
    index = {r: i for i, r in enumerate(raters)}
    n = len(raters)
    matrix = [[float("nan")] * n for _ in range(n)]
    for i in range(n):
        matrix[i][i] = 1.0
    for pair in pairwise["pairs"]:
        value = pair["kappa"]["value"]
        i, j = index[pair["rater_a"]], index[pair["rater_b"]]
        matrix[i][j] = matrix[j][i] = float("nan") if value is None else value
    size = min(2.0 + 0.35 * n, 12)
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(size + 1, size))
        image = ax.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu")
        ticks = [_label(r) for r in raters]
        ax.set_xticks(range(n), ticks, rotation=90)
        ax.set_yticks(range(n), ticks)
        if n <= 10:
            for i in range(n):
                for j in range(n):
                    if i != j and matrix[i][j] == matrix[i][j]:
                        ax.text(j, i, f"{matrix[i][j]:.2f}", ha="center", va="center", fontsize=MIN_FONT,
                                color="white" if abs(matrix[i][j]) > 0.6 else "black")
        weights = pairwise.get("weights") or "unweighted"
        ax.set_title(_label(f"{dim['label']}: pairwise Cohen's kappa ({weights}); blank = no shared items"))
        fig.colorbar(image, ax=ax, shrink=0.8)
        return _svg(fig, chart_id("heatmap", key))


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
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.2))
        left = [0.0] * len(rows)
        colours = plt.get_cmap("viridis")([i / max(len(levels) - 1, 1) for i in range(len(levels))])
        for k, level in enumerate(levels):
            widths = [r[1][k] for r in rows]
            ax.barh(range(len(rows)), widths, left=left, color=colours[k], label=_label(level))
            for i, w in enumerate(widths):
                if w >= 0.06:
                    ax.text(left[i] + w / 2, i, f"{w * 100:.0f}%", ha="center", va="center", fontsize=MIN_FONT,
                            color="white" if k < len(levels) - 1 else "black")
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(range(len(rows)), [_label(r[0]) for r in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of ratings")
        ax.legend(title="confidence", loc="lower right", bbox_to_anchor=(1, 1), ncol=len(levels), frameon=False)
        return _svg(fig, chart_id("confidence"))


def rank_plot(dim: dict, key: str = "") -> str | None:
    ranking = dim.get("rankings") or {}
    overall = ranking.get("overall")
    if not ranking.get("available") or not overall:
        return None
    points = [(c, a, b) for c, a, b in zip(overall["conditions"], overall["mean_a"], overall["mean_b"], strict=True)
              if a is not None and b is not None]
    if not points:
        return None
    tau = overall["kendall_tau_b"]["value"]
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        ax.scatter([p[1] for p in points], [p[2] for p in points], color="#1f5fbf")
        for name, a, b in points:
            ax.annotate(_label(name), (a, b), textcoords="offset points", xytext=(4, 4), fontsize=MIN_FONT)
        ax.margins(0.2)
        ax.set_xlabel(_label(f"clinicians: {ranking['score']}"))
        ax.set_ylabel(_label(f"judge: {ranking['score']}"))
        ax.set_title(_label(f"{dim['label']}: personas, clinicians vs judge on matched responses "
                            f"(Kendall tau-b {'n/a' if tau is None else f'{tau:.2f}'})"))
        ax.grid(alpha=0.3)
        return _svg(fig, chart_id("rank", key))


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
    heights = [len(v) + 1.6 for v in panels.values()]
    with plt.rc_context(RC):
        fig, axes = plt.subplots(len(panels), 1, figsize=(9, 0.34 * sum(heights) + 0.8), squeeze=False,
                                 gridspec_kw={"height_ratios": heights})
        for ax, ((measure, stratum, value), panel) in zip(axes[:, 0], panels.items(), strict=True):
            for i, r in enumerate(panel):
                if r["ci_low"] is not None:
                    ax.plot([r["ci_low"], r["ci_high"]], [i, i], color="#5b6475", linewidth=1.2)
                colour = "#067647" if r["difference"] > 0 else "#b42318" if r["difference"] < 0 else "#5b6475"
                ax.plot([r["difference"]], [i], "o", color=colour, markersize=5)
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_yticks(range(len(panel)), [_label(f"{r['persona']} (n={r['n_cases']} cases)") for r in panel],
                          fontsize=MIN_FONT)
            ax.set_ylim(len(panel) - 0.5, -0.5)
            subset = "all cases" if stratum == "all" else f"model {value}"
            ax.set_title(_label(f"{measure}, {subset}: {panel[0]['score']}"), fontsize=MIN_FONT, loc="left")
            ax.grid(axis="x", alpha=0.3)
        axes[-1, 0].set_xlabel(_label(f"persona minus {effects['baseline']} (mean per-case difference, "
                                      "case bootstrap CI)"))
        fig.tight_layout()
        return _svg(fig, chart_id("forest"))


def reliability_diagram(report: dict) -> str | None:
    evaluation = report.get("evaluation") or {}
    if not evaluation.get("available"):
        return None
    series = [("all", evaluation["overall"])] + list(evaluation["by_persona"].items())
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(5.5, 5))
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
        drawn = False
        for name, block in series:
            bins = [b for b in block["calibration"]["bins"] if b["n"] and b["mean_confidence"] is not None]
            if bins:
                ece = block["calibration"]["ece"]["value"]
                ax.plot([b["mean_confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                        label=_label(f"{name} (ECE {'n/a' if ece is None else f'{ece:.3f}'})"))
                drawn = True
        if not drawn:
            plt.close(fig)
            return None
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("stated confidence")
        ax.set_ylabel("accuracy")
        ax.set_title("Reliability diagram (triage answers)")
        ax.legend(fontsize=MIN_FONT)
        return _svg(fig, chart_id("reliability"))


def order_plot(dim: dict, key: str = "") -> str | None:
    buckets = [b for b in dim["order_effect"]["buckets"] if b["n"] and b["mean"] is not None]
    if len(buckets) < 2:
        return None
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot([(b["first"] + b["last"]) / 2 for b in buckets], [b["mean"] for b in buckets], marker="o")
        ax.set_xlabel("display position in the rater's queue")
        ax.set_ylabel(_label(dim["order_effect"]["score"]))
        ax.set_title(_label(f"{dim['label']}: score by display position"))
        ax.grid(alpha=0.3)
        return _svg(fig, chart_id("order", key))


def report_figures(report: dict) -> dict:
    """{"confidence": svg, "forest": svg, "reliability": svg,
    "dimensions": {key: {"heatmap", "rank", "order": svg, "rank_points": rows of the rank plot}}}."""
    return {
        "confidence": confidence_bars(report),
        "forest": forest_plot(report),
        "reliability": reliability_diagram(report),
        "dimensions": {
            key: {"heatmap": kappa_heatmap(dim, key), "rank": rank_plot(dim, key), "order": order_plot(dim, key),
                  "rank_points": rank_points(dim)}
            for key, dim in report["dimensions"].items()
        },
    }
