"""Building the agreement report (a JSON-able dict) and writing it as CSV, JSON or HTML."""
from .builder import build_report, meta
from .writers import render_html, write_csv, write_json

__all__ = ["build_report", "meta", "render_html", "write_csv", "write_json"]
