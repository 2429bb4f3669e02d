"""manage.py export_study NAME [--format yaml|json] [--output FILE]: a study as one configuration file."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.models import Study
from studies.services.study_files import study_export_text


class Command(BaseCommand):
    help = "Export a study's configuration (case sets by name+version+hash, personas, models, schema, options)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output")

    def handle(self, *args, name, format, output, **options):
        study = Study.objects.filter(name=name).first()
        if study is None:
            raise CommandError(f"No study named {name!r}.")
        text = study_export_text(study=study, fmt=format)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
        else:
            self.stdout.write(text, ending="")
