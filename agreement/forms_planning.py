from django import forms

from .metrics.sample_size import MAX_RATERS, STATISTICS

CONFIDENCE_CHOICES = [(0.8, "80 %"), (0.9, "90 %"), (0.95, "95 %"), (0.99, "99 %")]


def parse_shares(text: str) -> list[float]:
    """'0.2, 0.5; 0.3' -> [0.2, 0.5, 0.3]; the planner checks the values themselves."""
    parts = [part for part in text.replace(";", ",").replace(" ", ",").split(",") if part]
    try:
        return [float(part) for part in parts]
    except ValueError:
        raise forms.ValidationError("Give one share per category as numbers, e.g. 0.2, 0.5, 0.3.") from None


class SampleSizeForm(forms.Form):
    """The planning inputs; the planner validates their values (agreement.metrics.sample_size)."""

    statistic = forms.ChoiceField(choices=list(STATISTICS.items()), initial="fleiss_kappa")
    expected = forms.FloatField(label="Expected kappa (or AC1)", initial=0.6,
                                help_text="The value you expect the study to find, in [0, 1)")
    prevalence = forms.CharField(label="Prevalence per category", max_length=500,
                                 help_text="One share per category, summing to 1, e.g. 0.2, 0.5, 0.3")
    width = forms.FloatField(label="Wanted full width of the interval", initial=0.2,
                             help_text="Upper minus lower limit, e.g. 0.2 for kappa +/- 0.1")
    confidence = forms.TypedChoiceField(choices=CONFIDENCE_CHOICES, coerce=float, initial=0.95)
    raters_per_item = forms.IntegerField(label="Raters per item", min_value=2, max_value=MAX_RATERS, initial=2)
    n_raters = forms.IntegerField(
        label="Raters in the pool", required=False, min_value=2, max_value=MAX_RATERS,
        help_text="Blank: the same raters rate every item. Only the average pairwise kappa depends on it.")

    def __init__(self, *args, categories=(), raters_per_item: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        if categories:
            share = 1 / len(categories)
            self.fields["prevalence"].initial = ", ".join(f"{share:.3g}" for _ in categories)
            self.fields["prevalence"].help_text += f" (here: {', '.join(categories)})"
        self.fields["raters_per_item"].initial = max(2, raters_per_item)

    def clean_prevalence(self) -> list[float]:
        return parse_shares(self.cleaned_data["prevalence"])


class ApplyPlanForm(forms.Form):
    raters_per_response = forms.IntegerField(min_value=2, max_value=MAX_RATERS)
