from django import forms

from .forms import ReportRequestForm
from .reports.preregistration import outcome_choices, outcome_label

PLAN_FIELDS = ("hypotheses", "primary_outcomes", "secondary_outcomes", "notes")


def _outcome_id(dimension: str, coefficient: str) -> str:
    return f"{dimension}:{coefficient}"


class PreregistrationForm(ReportRequestForm):
    """The lock form: the plan, then the report parameters of the report form (the service checks both again)."""

    hypotheses = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), help_text="One hypothesis per line")
    primary_outcomes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    secondary_outcomes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                            help_text="Anything else decided in advance: exclusions, stopping rule, ...")

    field_order = PLAN_FIELDS

    def __init__(self, *args, schema: dict, has_judge: bool, **kwargs):
        super().__init__(*args, confidence_levels=schema.get("confidence_levels", []), **kwargs)
        del self.fields["format"]
        labels = {d["key"]: d.get("label", d["key"]) for d in schema.get("dimensions", [])}
        choices = [(_outcome_id(d, c), f"{labels[d]}: {outcome_label(c)}")
                   for d, c in outcome_choices(schema, has_judge=has_judge)]
        self.fields["primary_outcomes"].choices = self.fields["secondary_outcomes"].choices = choices

    def parameters(self) -> dict:
        return {k: v for k, v in super().parameters().items() if k not in PLAN_FIELDS}

    def plan(self) -> dict:
        """The service's keyword arguments."""
        def outcomes(ids):
            return [dict(zip(("dimension", "coefficient"), i.rsplit(":", 1), strict=True)) for i in ids]

        data = self.cleaned_data
        return {
            "hypotheses": data["hypotheses"].splitlines(),
            "primary_outcomes": outcomes(data["primary_outcomes"]),
            "secondary_outcomes": outcomes(data["secondary_outcomes"]),
            "report_parameters": self.parameters(),
            "notes": data["notes"],
        }
