"""Forms for inference's pages: input shapes only; the services validate meaning."""
from django import forms

from studies.models import Case, ModelSpec, Persona

from .services.pairwise import PAIRS_MODES
from .services.try_prompt import MAX_PROMPT_CHARS

CASE_CHOICES_LIMIT = 500


class TryPromptDefaultsForm(forms.Form):
    """Where the messages' defaults come from: a case and a persona, as a study would send them."""

    case = forms.ModelChoiceField(queryset=Case.objects.none(), required=False,
                                  help_text="The first 500 cases of every set")
    persona = forms.ModelChoiceField(queryset=Persona.objects.none(), required=False,
                                     help_text="Current versions; the baseline sends an empty system message")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = Case.objects.select_related("case_set").order_by(
            "case_set__name", "case_set__version", "id")
        cases = self.fields["case"].queryset[:CASE_CHOICES_LIMIT]
        self.fields["case"].choices = [("", "---------")] + [(c.pk, str(c)) for c in cases]
        self.fields["persona"].queryset = Persona.objects.filter(is_current=True).order_by(
            "-is_baseline", "-is_medical", "slug")


class TryPromptForm(forms.Form):
    system_prompt = forms.CharField(required=False, max_length=MAX_PROMPT_CHARS,
                                    widget=forms.Textarea(attrs={"rows": 4}), label="System prompt",
                                    help_text="Empty: an explicit empty system message")
    user_message = forms.CharField(max_length=MAX_PROMPT_CHARS, widget=forms.Textarea(attrs={"rows": 8}),
                                   label="User message", help_text="The case and its question, as a study sends it")


class ResponsesUploadForm(forms.Form):
    file = forms.FileField(help_text="JSON Lines (.jsonl) or gzipped (.jsonl.gz), UTF-8, one response a line "
                                     "(docs/responses-jsonl.md)")
    model_name = forms.ChoiceField(required=False, label="Every row is for this model",
                                   help_text="Optional: refuse rows that name another of the study's models")

    def __init__(self, *args, study, **kwargs):
        super().__init__(*args, **kwargs)
        names = study.model_specs.order_by("name").values_list("name", flat=True)
        self.fields["model_name"].choices = [("", "Any of the study's models")] + [(n, n) for n in names]


class JudgeJobForm(forms.Form):
    """Which judge a judge job scores with: one of the study's judges, all of them, or (neither) its own judge."""

    judge = forms.ModelChoiceField(queryset=ModelSpec.objects.filter(is_judge=True), required=False)
    all_judges = forms.BooleanField(required=False)


class PairwiseJudgeForm(forms.Form):
    """A pairwise judge job: which pairs, and which of the study's judges (none: its own judge)."""

    pairs = forms.ChoiceField(choices=[(mode, mode) for mode in PAIRS_MODES])
    judge = forms.ModelChoiceField(queryset=ModelSpec.objects.filter(is_judge=True), required=False)
