from django import forms

from .data import CANNOT_ASSESS_MODES
from .models import ReportFormat
from .reports.parameters import CONSENSUS, DEFAULTS, TIE_RULES


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
    consensus_tie = forms.ChoiceField(required=False, choices=[(t, t) for t in TIE_RULES],
                                      initial=DEFAULTS["consensus_tie"],
                                      label="Tied consensus (counted whatever the rule)")
    kappa_average_ci = forms.ChoiceField(
        required=False,
        choices=[("jackknife", "Jackknife over items"), ("two_way_bootstrap", "Bootstrap over items and raters")],
        initial=DEFAULTS["kappa_average_ci"], label="Average kappa: extra interval",
    )
    multiplicity = forms.ChoiceField(required=False, choices=[("holm", "Holm (family-wise error)"),
                                              ("bh", "Benjamini-Hochberg (false discovery rate)")],
                                     initial=DEFAULTS["multiplicity"], label="Persona effects: p-value adjustment")
    mixed_models = forms.ChoiceField(
        required=False, initial=DEFAULTS["mixed_models"], label="Persona-effect mixed models",
        choices=[("auto", "Up to 20,000 observations per model"), ("on", "Always (slow on large studies)"),
                 ("off", "Off")],
    )
    metadata_key = forms.CharField(required=False, max_length=100, label="Break down by case metadata key",
                                   help_text="e.g. safety_category")
    weight_matrices = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Kappa weight matrices (JSON)",
        help_text='Agreement weights per dimension, e.g. {"safety": [[1, 0.5, 0], [0.5, 1, 0.5], [0, 0.5, 1]]}',
    )

    def __init__(self, *args, confidence_levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["min_confidence"].choices = [(c, c) for c in confidence_levels]
        if DEFAULTS["min_confidence"] in confidence_levels:
            self.fields["min_confidence"].initial = DEFAULTS["min_confidence"]

    def parameters(self) -> dict:
        params = {k: v for k, v in self.cleaned_data.items() if k != "format"}
        for key in ("consensus_tie", "kappa_average_ci", "multiplicity", "mixed_models", "weight_matrices"):
            if not params.get(key):  # an older form or an API call without it: the default
                params[key] = DEFAULTS[key]
        return params
