"""manage.py agreement_report STUDY --format csv|json|html [--output FILE]: build a report here and now."""
import shutil
import sys

from django.core.management.base import BaseCommand, CommandError

from agreement import services
from agreement.models import ReportFormat, ReportStatus
from config.exceptions import ApplicationError
from studies.models import Study


class Command(BaseCommand):
    help = "Build a study's agreement report (no worker needed) and write it to a file or stdout."

    def add_arguments(self, parser):
        parser.add_argument("study", help="Study id or exact name")
        parser.add_argument("--format", choices=ReportFormat.values, default=ReportFormat.HTML)
        parser.add_argument("--output", "-o", help="File to write (default: stdout)")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--n-boot", type=int, dest="n_boot", help="Bootstrap resamples (default 1000)")
        parser.add_argument("--min-confidence", dest="min_confidence")
        parser.add_argument("--cannot-assess", dest="cannot_assess", choices=["exclude", "category"])
        parser.add_argument("--consensus", choices=["majority", "median", "mean"])
        parser.add_argument("--consensus-tie", dest="consensus_tie", choices=["exclude", "lower", "higher", "random"])
        parser.add_argument("--kappa-average-ci", dest="kappa_average_ci", choices=["jackknife", "two_way_bootstrap"])
        parser.add_argument("--multiplicity", choices=["holm", "bh"], help="p-value adjustment of persona effects")
        parser.add_argument("--mixed-models", dest="mixed_models", choices=["auto", "on", "off"],
                            help="persona-effect mixed models (auto: up to 20,000 observations per model)")
        parser.add_argument("--metadata-key", dest="metadata_key", help="Case metadata key to break down by")
        parser.add_argument("--weight-matrices", dest="weight_matrices",
                            help='JSON: {"dimension": [[1, 0.5, 0], ...]} agreement weights')

    def handle(self, *args, study, format, output, **options):
        found = Study.objects.filter(pk=int(study)) if study.isdigit() else Study.objects.none()
        found = found or Study.objects.filter(name=study)
        if not found:
            raise CommandError(f"No study with id or name {study!r}.")
        keys = ("seed", "n_boot", "min_confidence", "cannot_assess", "consensus", "consensus_tie", "kappa_average_ci",
                "multiplicity", "mixed_models", "metadata_key", "weight_matrices")
        parameters = {k: options[k] for k in keys if options.get(k) is not None}
        try:
            report = services.report_generate(study=found.get(), format=format, parameters=parameters)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message}: {exc.extra}") from exc
        if report.status != ReportStatus.DONE:
            raise CommandError(f"Report #{report.pk} failed: {report.error}")
        with report.file.open("rb") as source:
            if output:
                with open(output, "wb") as target:
                    shutil.copyfileobj(source, target)
            else:
                shutil.copyfileobj(source, sys.stdout.buffer)
                sys.stdout.flush()
        note = " (reused: ratings unchanged)" if report.reused_from_id else ""
        self.stderr.write(f"report #{report.pk}{note}, data snapshot {report.data_hash}"
                          + (f", written to {output}" if output else ""))
