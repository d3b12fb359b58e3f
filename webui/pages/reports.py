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
from .labels import N_, local_time, stage_name

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
TOPICS = {
    "management": N_("企业管理"),
    "technology": N_("技术与研发"),
    "finance": N_("财务融资"),
    "marketing": N_("市场营销"),
    "legal": N_("法律"),
    "human_resources": N_("人力资源"),
    "quality": N_("标准计量质量"),
    "work_safety": N_("安全生产"),
}
CATEGORIES = {
    "expert_fee": N_("专家费"),
    "travel": N_("差旅费"),
    "venue": N_("场地费"),
    "materials": N_("资料费"),
    "other": N_("其他"),
}
METHODS = {"phone": N_("电话"), "online": N_("网络"), "visit": N_("上门")}
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


def topic_name(topic: str) -> str:
    return _(TOPICS[topic]) if topic in TOPICS else topic


def header(column) -> str:
    if column.header == "topic":
        return topic_name(column.key)
    if column.header == "category":
        return _(CATEGORIES[column.key])
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
        return _(METHODS[value]) if value in METHODS else str(value)
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


def _filters() -> tuple[Filters, dict]:
    try:
        return Filters.parse(request.args), {}
    except InvalidData as error:
        return Filters(), error.fields


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
        raw=request.args,
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
