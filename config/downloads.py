"""File names for downloads built from user-chosen names (a study's name, a case set's).

Django's FileResponse keeps only the part after the last "/" of a file name, and browsers mangle quotes
and control characters: "ICU/ED triage" would download as "ED triage...". download_filename turns any
name into one safe file name and keeps the suffix.
"""
import re

from django.utils.text import get_valid_filename

MAX_STEM = 100
FALLBACK = "download"
_UNSAFE = re.compile(r"[^\w.-]+")  # anything but letters, digits, "_", "." and "-" (Unicode letters stay)


def download_filename(name: str, suffix: str, *, fallback: str = FALLBACK) -> str:
    """download_filename("ICU/ED triage", "csv") == "ICU-ED-triage.csv"; an empty result becomes `fallback`."""
    stem = _UNSAFE.sub("-", str(name)).strip("-._")
    stem = re.sub(r"-{2,}", "-", stem)[:MAX_STEM].rstrip("-._") or fallback
    extension = _UNSAFE.sub("", str(suffix)).strip("-.")
    return get_valid_filename(f"{stem}.{extension}" if extension else stem)
