import secrets

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def opaque_code() -> str:
    """A random, non-sequential public identifier: what raters see instead of database ids."""
    return secrets.token_urlsafe(12)
