"""Building the agreement report (a JSON-able dict) and writing it as CSV, JSON or HTML."""
from .builder import build_report, meta
from .writers import render_html, report_json, write_csv

__all__ = ["build_report", "meta", "render_html", "report_json", "write_csv"]
