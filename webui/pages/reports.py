"""The reports page (center head, division head, auditors): how the service performs, each
figure as a chart and a table, filtered by period, region, topic and process version; each
table also as CSV (UTF-8 with a BOM, so that Excel reads the Chinese) and each chart as an
SVG drawn on the server by pygal (report_charts.py), shown with <img>: the page itself
carries only the tables, and the charts load beside it.

The figures come from tasks/reports.py; this module names the columns and formats the
cells — once, for the page and the CSV alike."""

import csv
import io

from flask import Blueprint, abort, current_app, g, make_response, render_template, request
from flask_babel import gettext as _

from engine.errors import Forbidden, InvalidData
from tasks.reports import FIGURES, Figure, Filters, Reports, may_read

from . import report_charts
from .auth import signed_in, system
from .labels import N_, english, local_time, stage_name

bp = Blueprint("reports", __name__, url_prefix="/reports")
PAGE_ROWS = 20  # the longest a list gets on the page; the CSV has every row

TITLES = {
    "applications_by_region": N_("每月申请数（按地区）"),
    "applications_by_topic": N_("每月申请数（按服务领域）"),
    "decisions": N_("受理与不予受理"),
    "review_timeliness": N_("一个工作日内完成审核的比例"),
    "overdue_reviews": N_("超期审核清单"),
    "stage_times": N_("各阶段用时中位数"),
    "scores_by_month": N_("企业评价得分（按月）"),
    "scores_by_expert": N_("企业评价得分（按专家）"),
    "follow_up": N_("回访结果"),
    "extended_services": N_("延伸服务转化"),
    "budgets": N_("各次活动费用合计"),
}
NOTES = {
    "applications_by_topic": N_("一项申请可含多个服务领域，各领域分别计数；“申请数”为申请项数。"),
    "decisions": N_("受理率、不予受理率按已审核的申请计算。"),
    "review_timeliness": N_("审核任务在截止时间（提交后一个工作日下班时）前完成即为按时。"),
    "overdue_reviews": N_("逾期完成的审核，以及已过截止时间仍未完成的审核。"),
    "stage_times": N_("每项申请在某阶段的用时：自该阶段第一个任务生成至最后一个任务完成（天）。"),
    "scores_by_month": N_("评分 1–5 分，取平均值。"),
    "scores_by_expert": N_("企业评价针对整次活动，计入该次活动的每位专家。"),
    "extended_services": N_("回访中提出延伸服务需求的活动，及其中已签订三方协议的活动。"),
    "budgets": N_("《订单式服务内容及费用审批表》的费用明细与合计（元），最近的活动在前。"),
}
COLUMNS = {
    "month": N_("月份"),
    "applications": N_("申请数"),
    "accepted": N_("受理"),
    "rejected": N_("不予受理"),
    "pending": N_("待审核"),
    "accept_rate": N_("受理率"),
    "reject_rate": N_("不予受理率"),
    "reviewed": N_("已审核"),
    "on_time": N_("按时"),
    "late": N_("超期"),
    "on_time_share": N_("按时比例"),
    "file_number": N_("档案编号"),
    "unit": N_("申请单位"),
    "region": N_("地区"),
    "submitted_at": N_("提交时间"),
    "due_at": N_("截止时间"),
    "reviewed_at": N_("审核完成时间"),
    "hours_late": N_("超期（小时）"),
    "stage": N_("阶段"),
    "median_days": N_("中位数（天）"),
    "mean_days": N_("平均（天）"),
    "evaluations": N_("评价份数"),
    "content_score": N_("服务内容"),
    "expert_score": N_("专家"),
    "organisation_score": N_("组织工作"),
    "expert": N_("专家（机构）"),
    "activities": N_("活动次数"),
    "method": N_("回访方式"),
    "visits": N_("回访企业数"),
    "extended_needed": N_("需要延伸服务"),
    "no_extended_need": N_("不需要"),
    "extended_share": N_("需要延伸服务的比例"),
    "enterprises_needing": N_("有需求的企业数"),
    "activities_needing": N_("有需求的活动数"),
    "agreements": N_("已签订协议"),
    "conversion": N_("转化率"),
    "contract_total": N_("合同金额（元）"),
    "budget_total": N_("合计（元）"),
}
# The names of service areas, cost categories and follow-up methods are the forms' own
# (x-enum-titles in processes/forms): one name per value, on the form and in the reports.
ENUMS = {
    "topic": ("application", ("topics", "[]")),
    "category": ("budget", ("items", "[]", "category")),
    "method": ("follow_up", ("method",)),
}
TOTAL = N_("合计")


def reports() -> Reports:
    """One per app: it keeps its latest reports, and fills missing facts once."""
    found = current_app.extensions.get("dingdan_reports")
    if found is None:
        found = current_app.extensions["dingdan_reports"] = Reports(system().engine)
    return found


@bp.before_request
def readers_only():
    actor = g.get("actor")
    if actor is not None and not may_read(actor):  # signed out: `signed_in` redirects
        raise Forbidden(_("只有服务中心负责人、省局创新服务处负责人和审计人员可以查看统计报表。"))


# -- names and cells ----------------------------------------------------------------------


def enum_titles(kind: str) -> dict[str, dict[str, str]]:
    """{value: {"zh-CN": …, "en": …}} as the form names the values of a report's kind."""
    form_key, path = ENUMS[kind]
    forms = system().forms
    node = forms.get(form_key).schema if form_key in forms else {}
    for part in path:  # "[]": a list's items
        node = (node.get("items") if part == "[]" else node.get("properties", {}).get(part)) or {}
    return node.get("x-enum-titles") or {}


def enum_name(kind: str, value: str) -> str:
    titles = enum_titles(kind).get(value) or {}
    return (titles.get("en") if english() else None) or titles.get("zh-CN") or str(value)


def topic_name(topic: str) -> str:
    return enum_name("topic", topic)


def header(column) -> str:
    if column.header == "topic":
        return topic_name(column.key)
    if column.header == "category":
        return enum_name("category", column.key)
    if column.header == "region":
        return column.key
    return _(COLUMNS[column.key])


def cell(kind: str, value) -> str:
    if value is None:
        return "—"
    if value == "total" and kind in ("month", "method"):
        return _(TOTAL)
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind in ("days", "hours"):
        return f"{value:.1f}"
    if kind in ("score", "money"):
        return f"{value:.2f}"
    if kind == "time":
        return local_time(value)
    if kind == "stage":
        return stage_name(value)
    if kind == "method":
        return enum_name("method", value)
    return str(value)


def table(figure: Figure, limit: int | None = None) -> dict:
    """The figure as the page and the CSV show it: headers and rows of text."""
    rows = figure.rows if limit is None else figure.rows[:limit]
    return {
        "headers": [header(column) for column in figure.columns],
        "kinds": [column.kind for column in figure.columns],
        "rows": [
            [cell(column.kind, value) for column, value in zip(figure.columns, row, strict=True)]
            for row in rows
        ],
        "total_rows": len(figure.rows),
        "total": row_of_totals(figure),
    }


def row_of_totals(figure: Figure) -> list[str] | None:
    totals = figure.extra.get("totals")
    if not totals or not figure.rows:
        return None
    blanks = len(figure.columns) - len(totals)
    return [_(TOTAL), *[""] * (blanks - 1), *(cell("money", value) for value in totals)]


# -- the pages ----------------------------------------------------------------------------


FILTER_LABELS = {"start": N_("起始日期"), "end": N_("截止日期"), "version": N_("流程版本")}


def _filters() -> tuple[Filters, dict]:
    """The filters given; a bad one is left out (the others still apply) and named in
    {field: message}, and the page never shows its value back as if it had been taken."""
    try:
        return Filters.parse(request.args), {}
    except InvalidData as error:
        bad = dict(error.fields or {})
    kept = {key: value for key, value in request.args.items() if key not in bad}
    try:
        filters = Filters.parse(kept)
    except InvalidData:
        filters = Filters()
    return filters, {key: _filter_error(key, problem) for key, problem in bad.items()}


def _filter_error(key: str, problem: str) -> str:
    if key == "end" and problem == "not before the start":
        return _("“截止日期”早于“起始日期”：请填写不早于起始日期的日期。本次统计未按截止日期筛选。")
    if key == "version":
        return _("“流程版本”无效：请从列表中选择流程版本。本次统计未按流程版本筛选。")
    return _(
        "“%(field)s”无效：请填写日期（年-月-日，如 2026-10-01）或月份（如 2026-10）。"
        "本次统计未按此条件筛选。",
        field=_(FILTER_LABELS.get(key, key)),
    )


@bp.get("")
@signed_in
def index():
    filters, errors = _filters()
    report = reports().report(g.actor, filters)
    tables = {key: table(figure, PAGE_ROWS) for key, figure in report.figures.items()}
    return render_template(
        "pages/reports.html",
        report=report,
        figures=FIGURES,
        tables=tables,
        charted=report_charts.CHARTED,
        titles={key: _(title) for key, title in TITLES.items()},
        notes={key: _(note) for key, note in NOTES.items()},
        filters=filters,
        args=filters.query_args(),
        errors=errors,
        topic_name=topic_name,
        page_rows=PAGE_ROWS,
    )


@bp.get("/<figure>.csv")
@signed_in
def export(figure):
    figure_data = _figure(figure)
    shown = table(figure_data)
    out = io.StringIO()
    out.write("\ufeff")  # the BOM: Excel then reads the file as UTF-8
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(shown["headers"])
    writer.writerows(shown["rows"])
    if shown["total"]:
        writer.writerow(shown["total"])
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="dingdan-{figure}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<figure>.svg")
@signed_in
def chart(figure):
    if figure not in report_charts.CHARTED:
        abort(404)
    figure_data = _figure(figure)
    shown = table(figure_data, report_charts.MAX_BARS)  # the rows a chart can show
    svg = report_charts.render(figure_data, _(TITLES[figure]), shown)
    response = make_response(svg)
    response.headers["Content-Type"] = "image/svg+xml; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


def _figure(key: str) -> Figure:
    if key not in FIGURES:
        abort(404)
    try:
        filters = Filters.parse(request.args)
    except InvalidData:
        abort(400)
    return reports().figure(g.actor, key, filters)
