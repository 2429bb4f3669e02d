"""Forms for the admin setup pages: input shapes only; the services validate meaning."""
from django import forms

from .models import CaseSet, InteractionStyle, LeakPolicy, ModelSpec, Persona
from .services.studies import EDITABLE_BY_STATUS
from .shapes import STUDY_SETTINGS, limits


class CaseSetUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, JSON (array of objects), JSONL, or a .gz of one of them; UTF-8.")
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"list": "case-set-names"}),
                           help_text="A new name creates a set; an existing one adds to its latest version.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    new_version = forms.BooleanField(required=False, label="Create a new version from this file",
                                     help_text="Needed when ids already in the set have different content.")


class PersonaForm(forms.Form):
    slug = forms.SlugField(max_length=100, help_text="Stable id, e.g. ed-physician-cautious")
    name = forms.CharField(max_length=200)
    role = forms.CharField(max_length=200, required=False, help_text="e.g. ED physician, helpful assistant")
    style = forms.ChoiceField(choices=InteractionStyle.choices)
    is_medical = forms.BooleanField(required=False, label="Medical role")
    system_prompt_template = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Placeholders: {role}, {style}, {task_type}, {care_setting}.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, persona: Persona | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if persona is not None:
            del self.fields["slug"]
            if persona.is_baseline:
                for name in ("role", "system_prompt_template"):
                    self.fields[name].required = False
                    self.fields[name].disabled = True


class PersonaPreviewForm(forms.Form):
    case = forms.ModelChoiceField(queryset=None, help_text="The first 500 cases of every set")
    study = forms.ModelChoiceField(queryset=None, required=False, help_text="Use its task instructions")

    def __init__(self, *args, cases, studies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases
        self.fields["study"].queryset = studies


def _low(field: str):
    return limits(STUDY_SETTINGS, field)[0]


def _high(field: str):
    return limits(STUDY_SETTINGS, field)[1]


class StudyForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    case_sets = forms.ModelMultipleChoiceField(queryset=CaseSet.objects.order_by("name", "-version"), required=False,
                                               widget=forms.CheckboxSelectMultiple)
    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.filter(is_current=True, is_baseline=False).order_by("-is_medical", "slug"),
        required=False, widget=forms.CheckboxSelectMultiple,
        help_text="The no-persona baseline is always part of the study.",
    )
    model_specs = forms.ModelMultipleChoiceField(queryset=ModelSpec.objects.order_by("name"), required=False,
                                                 widget=forms.CheckboxSelectMultiple, label="Models")
    judge = forms.ModelChoiceField(queryset=ModelSpec.objects.filter(is_judge=True), required=False)
    raters_per_response = forms.IntegerField(min_value=_low("raters_per_response"), initial=2)
    anchor_items = forms.IntegerField(min_value=_low("anchor_items"), initial=0,
                                      help_text="Items every clinician rates")
    pairwise_overlap = forms.BooleanField(required=False, help_text="Guarantee overlap for every clinician pair")
    retest_fraction = forms.FloatField(min_value=_low("retest_fraction"), max_value=_high("retest_fraction"),
                                       initial=0.0, help_text="Share of items shown again for test-retest")
    preference_mode = forms.BooleanField(required=False, help_text="Side-by-side A/B preference tasks")
    leak_policy = forms.ChoiceField(choices=LeakPolicy.choices, initial=LeakPolicy.REDACT)
    assignment_seed = forms.IntegerField(min_value=_low("assignment_seed"), initial=0)
    safety_lead_email = forms.EmailField(required=False)
    eligibility = forms.JSONField(required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text='Per task type, e.g. {"triage": {"specialties": ["emergency"]}}')
    task_instructions = forms.JSONField(required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 3}),
                                        help_text="Per task type, text appended to the question; {} for defaults")
    rating_schema = forms.JSONField(required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text="{} for the default clinician schema")

    def __init__(self, *args, study=None, **kwargs):
        super().__init__(*args, **kwargs)
        if study is not None:
            editable = EDITABLE_BY_STATUS[study.status]
            for name, field in self.fields.items():
                field.disabled = name not in editable
            # Keep older persona versions the study already has visible and ticked.
            self.fields["personas"].queryset = (self.fields["personas"].queryset
                                                | study.personas.filter(is_baseline=False)).distinct()

    def changed_values(self) -> dict:
        """The cleaned values of enabled fields, JSON fields defaulting to {}."""
        values = {name: value for name, value in self.cleaned_data.items() if not self.fields[name].disabled}
        for name in ("eligibility", "task_instructions", "rating_schema"):
            if name in values and values[name] is None:
                values[name] = {}
        return values


class StudyImportForm(forms.Form):
    file = forms.FileField(help_text="A study file written by Export (YAML or JSON)")
    name = forms.CharField(max_length=200, required=False, help_text="Import under another name")
