"""The report charts, as SVG drawn on the server by pygal (a maintained PyPI library): no
script runs in the browser (pygal's tooltip script and its inline config are removed), the
labels are the page's own translated headers and cells, and the text is set in the CJK
fonts the pages use, so the charts read in Chinese on screen and on paper."""

import sys

import pygal
from pygal.style import Style

from tasks.reports import Figure

# pygal appends a legacy import finder for its map plugins (unused here) that lacks
# find_spec: every import that fails after it would warn (ImportWarning). Take it out.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

FONTS = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif'
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1",
    opacity=".85",
    opacity_hover=".95",
    transition="0s",
    colors=(
        "#2b6cb0",
        "#c05621",
        "#2f855a",
        "#b42318",
        "#6b46c1",
        "#0f766e",
        "#b7791f",
        "#4a5568",
        "#d53f8c",
        "#3182ce",
        "#718096",
        "#68d391",
    ),
    font_family=FONTS,
    label_font_family=FONTS,
    major_label_font_family=FONTS,
    value_font_family=FONTS,
    value_label_font_family=FONTS,
    tooltip_font_family=FONTS,
    title_font_family=FONTS,
    legend_font_family=FONTS,
    no_data_font_family=FONTS,
    title_font_size=15,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    value_font_size=11,
    no_data_font_size=16,
)
MAX_BARS = 20  # the activities: the latest 20 (the table has all)
MAX_EXPERTS = 15  # the experts with the most activities (the table has all)
LEGEND_COLUMNS = 8

# figure -> (chart kind, the columns plotted as series, or None for every column between
# the first and the last)
CHARTED = {
    "applications_by_region": ("stacked", None),
    "applications_by_topic": ("bar", None),
    "decisions": ("stacked", ("accepted", "rejected", "pending")),
    "review_timeliness": ("stacked", ("on_time", "late")),
    "stage_times": ("bar", ("median_days", "mean_days")),
    "scores_by_month": ("line", ("content_score", "expert_score", "organisation_score")),
    "scores_by_expert": ("hbar", ("expert_score",)),
    "follow_up": ("stacked", ("extended_needed", "no_extended_need")),
    "extended_services": ("bar", ("activities_needing", "agreements")),
    "budgets": ("stacked", ("expert_fee", "travel", "venue", "materials", "other")),
}


def _strip_scripts(root):
    for node in list(root.iter("script")):
        node.getparent().remove(node)
    return root


def render(figure: Figure, title: str, shown: dict, no_data: str = "—") -> str:
    kind, plotted = CHARTED[figure.key]
    keys = [column.key for column in figure.columns]
    rows = [row for row in figure.rows if row[0] != "total"]
    rows = rows[: MAX_EXPERTS if kind == "hbar" else MAX_BARS]
    labels = [text[0] for text in shown["rows"][: len(rows)]]
    if plotted is None:
        plotted = keys[1:-1]
    legend_rows = -(-max(len(plotted), 1) // LEGEND_COLUMNS)
    height = 340 + 22 * (legend_rows - 1)
    if kind == "hbar":
        height = 110 + 26 * max(len(rows), 1)
    options = {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "explicit_size": False,
        "width": 820,
        "height": height,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": min(max(len(plotted), 1), LEGEND_COLUMNS),
        "truncate_legend": -1,
        "truncate_label": -1,
        "print_values": False,
        "no_data_text": no_data,
        "margin": 12,
        "margin_bottom": 12 + 22 * (legend_rows - 1),
    }
    if kind == "stacked":
        chart = pygal.StackedBar(**options)
    elif kind == "line":
        chart = pygal.Line(range=(1, 5), dots_size=4, **options)
    elif kind == "hbar":
        chart = pygal.HorizontalBar(range=(0, 5), **options)
        labels, rows = labels[::-1], rows[::-1]  # the first row on top
    else:
        chart = pygal.Bar(**options)
    if kind != "hbar" and len(labels) > 8:
        chart.config.x_label_rotation = 45 if len(labels) > 12 else 30
    chart.add_xml_filter(_strip_scripts)
    chart.title = title
    chart.x_labels = labels
    for key in plotted:
        index = keys.index(key)
        chart.add(shown["headers"][index], [_value(row[index]) for row in rows])
    return chart.render(is_unicode=True)


def _value(value):
    if value is None:
        return None
    return round(float(value), 2)
