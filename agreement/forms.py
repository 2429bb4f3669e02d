from django import forms

from .data import CANNOT_ASSESS_MODES
from .models import ReportFormat
from .reports.parameters import CONSENSUS, DEFAULTS


class ReportRequestForm(forms.Form):
    """The page's build form; the service validates the parameters again (one set of rules)."""

    format = forms.ChoiceField(choices=ReportFormat.choices, initial=ReportFormat.HTML)
    n_boot = forms.IntegerField(min_value=0, max_value=10_000, initial=DEFAULTS["n_boot"], label="Bootstrap resamples")
    seed = forms.IntegerField(min_value=0, max_value=2**32 - 1, initial=DEFAULTS["seed"])
    min_confidence = forms.ChoiceField(label="Restricted agreement: minimum confidence")
    cannot_assess = forms.ChoiceField(
        choices=[(m, {"exclude": "Exclude (count)", "category": "Own category"}[m]) for m in CANNOT_ASSESS_MODES],
        initial=DEFAULTS["cannot_assess"], label='"Cannot assess"',
    )
    consensus = forms.ChoiceField(choices=[(c, c) for c in CONSENSUS], initial=DEFAULTS["consensus"],
                                  label="Clinicians' consensus for the judge")

    def __init__(self, *args, confidence_levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["min_confidence"].choices = [(c, c) for c in confidence_levels]
        if DEFAULTS["min_confidence"] in confidence_levels:
            self.fields["min_confidence"].initial = DEFAULTS["min_confidence"]

    def parameters(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "format"}
