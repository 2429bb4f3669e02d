import secrets

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def opaque_code() -> str:
    """A random, non-sequential public identifier: what raters see instead of database ids. It starts with a
    letter or digit, so that a spreadsheet never reads it as a formula ("-abc") and exports keep it as is."""
    while True:
        code = secrets.token_urlsafe(12)
        if code[0].isalnum():
            return code
