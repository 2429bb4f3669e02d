"""manage.py resume_reports [--study ID] [--fail]: queue again (or mark failed) reports whose build stopped."""
from django.core.management.base import BaseCommand, CommandError

from agreement import services
from studies.models import Study


class Command(BaseCommand):
    help = ("Find reports still 'building' whose process has shown no sign of life for REPORT_STALE_SECONDS, "
            "and queue them again (or, with --fail, mark them failed).")

    def add_arguments(self, parser):
        parser.add_argument("--study", type=int, help="Only this study's reports (id)")
        parser.add_argument("--fail", action="store_true", help="Mark them failed instead of queueing them again")

    def handle(self, *args, study=None, fail=False, **options):
        found = None
        if study is not None:
            found = Study.objects.filter(pk=study).first()
            if found is None:
                raise CommandError(f"No study with id {study}.")
        if fail:
            count = services.reports_fail_stale(study=found)
            self.stdout.write(f"{count} stopped report(s) marked failed.")
            return
        resumed = services.reports_resume_stale(study=found)
        for report in resumed:
            self.stdout.write(f"report #{report.pk} ({report.study.name}, {report.format}): {report.status}")
        self.stdout.write(f"{len(resumed)} stopped report(s) queued again.")
