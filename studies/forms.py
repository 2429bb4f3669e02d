"""Forms for the admin setup pages: input shapes only; the services validate meaning."""
from django import forms

from .forms_study import (
    add_task_fields,
    fields_to_json,
    schema_rows_for,
    setup_warnings,
    task_field_groups,
    task_field_owner,
)
from .models import CaseSet, InteractionStyle, LeakPolicy, ModelSpec, Persona
from .schema_rows import KINDS, NEW_ROW_LEVELS, Level, Row
from .services.studies import EDITABLE_BY_STATUS, STUDY_FIELDS
from .shapes import STUDY_SETTINGS, limits

TRIAGE_SCALE_HELP = (
    'The scale of the triage cases\' reference answers: "ESI" (the default: ESI 1, most urgent, to 5) or the '
    'set\'s own ordered scale as JSON, e.g. {"name": "Primary care", "ordered": true, "most_urgent": "last", '
    '"levels": [{"value": "routine", "label": "Routine"}, ...]}'
)


class CaseSetUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, JSON (array of objects), JSONL, or a .gz of one of them; UTF-8.")
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"list": "case-set-names"}),
                           help_text="A new name creates a set; an existing one adds to its latest version.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    new_version = forms.BooleanField(required=False, label="Create a new version from this file",
                                     help_text="Needed when ids already in the set have different content.")
    triage_scale = forms.CharField(
        required=False, initial="ESI", label="Triage scale", widget=forms.Textarea(attrs={"rows": 2}),
        help_text=TRIAGE_SCALE_HELP)


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


# Marks a post from the study page itself (rows and per-task fields); without it the JSON fields are read as
# they are, as scripts and older pages send them.
AS_FIELDS = "fields_as_rows"
JSON_FIELDS = ("eligibility", "task_instructions", "rating_schema")
# The page's sections.
ABOUT_FIELDS = ("name", "description", "rater_title", "rater_instructions")
ASSIGNMENT_FIELDS = ("raters_per_response", "anchor_items", "calibration_items", "pairwise_overlap", "retest_fraction",
                     "preference_mode", "leak_policy", "assignment_seed", "safety_lead_email")


class StudyForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Internal: clinicians never see it; it may name the hypothesis.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    rater_title = forms.CharField(max_length=200, required=False, label="Title for clinicians",
                                  help_text='What clinicians see; empty: a neutral "Study 1", "Study 2"...')
    rater_instructions = forms.CharField(
        required=False, label="Instructions for clinicians", widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown once, before a clinician's first item. Say what to judge, not what the study tests.")
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
    extra_judges = forms.ModelMultipleChoiceField(
        queryset=ModelSpec.objects.filter(is_judge=True).order_by("name"), required=False,
        widget=forms.CheckboxSelectMultiple, label="Extra judges",
        help_text="They also score every response, so the report compares the judges with each other; "
                  "not the judge above.")
    raters_per_response = forms.IntegerField(min_value=_low("raters_per_response"), initial=2)
    anchor_items = forms.IntegerField(min_value=_low("anchor_items"), initial=0,
                                      help_text="Items every clinician rates")
    calibration_items = forms.IntegerField(
        min_value=_low("calibration_items"), initial=0, required=False, label="Calibration items",
        help_text="The first N anchor items are practice, with feedback against the case's reference answer; "
                  "they count in no agreement figure. At most the number of anchor items.")
    pairwise_overlap = forms.BooleanField(required=False, help_text="Guarantee overlap for every clinician pair")
    retest_fraction = forms.FloatField(min_value=_low("retest_fraction"), max_value=_high("retest_fraction"),
                                       initial=0.0, help_text="Share of items shown again for test-retest")
    preference_mode = forms.BooleanField(required=False, help_text="Side-by-side A/B preference tasks")
    leak_policy = forms.ChoiceField(choices=LeakPolicy.choices, initial=LeakPolicy.REDACT)
    assignment_seed = forms.IntegerField(min_value=_low("assignment_seed"), initial=0)
    safety_lead_email = forms.EmailField(required=False)
    eligibility = forms.JSONField(required=False, initial=dict, widget=forms.HiddenInput)
    task_instructions = forms.JSONField(required=False, initial=dict, widget=forms.HiddenInput)
    rating_schema = forms.JSONField(required=False, initial=dict, widget=forms.HiddenInput)
    save_anyway = forms.BooleanField(required=False, label="Save anyway",
                                     help_text="I know; save the study as it is and complete it later.")

    def __init__(self, *args, study=None, **kwargs):
        super().__init__(*args, **kwargs)
        add_task_fields(self)
        if study is not None:
            editable = EDITABLE_BY_STATUS[study.status]
            for name, field in self.fields.items():
                field.disabled = task_field_owner(name) not in editable
            # Keep older persona versions the study already has visible and ticked.
            self.fields["personas"].queryset = (self.fields["personas"].queryset
                                                | study.personas.filter(is_baseline=False)).distinct()
        self.as_fields = not self.is_bound or AS_FIELDS in self.data
        self.schema_rows, self.schema_options = schema_rows_for(self)
        self.warnings: list[str] = []

    def clean_calibration_items(self):
        return self.cleaned_data.get("calibration_items") or 0

    def clean(self):
        cleaned = super().clean()
        if self.as_fields:
            cleaned.update(fields_to_json(self, cleaned))
        self.warnings = setup_warnings(self, cleaned)
        if self.warnings and not cleaned.get("save_anyway"):
            raise forms.ValidationError("Check before saving: " + " ".join(self.warnings), code="warnings")
        return cleaned

    @property
    def about_fields(self):
        return [self[name] for name in ABOUT_FIELDS]

    @property
    def assignment_fields(self):
        return [self[name] for name in ASSIGNMENT_FIELDS]

    @property
    def task_groups(self):
        return task_field_groups(self)

    # For the schema rows' templates: the scale kinds, and the empty row and level that scripts copy.
    schema_kinds = KINDS
    blank_row = Row(levels=[Level() for _ in range(NEW_ROW_LEVELS)])
    blank_level = Level()

    def changed_values(self) -> dict:
        """The cleaned values of enabled study fields, JSON fields defaulting to {}."""
        values = {name: value for name, value in self.cleaned_data.items()
                  if name in STUDY_FIELDS and not self.fields[name].disabled}
        for name in JSON_FIELDS:
            if name in values and values[name] is None:
                values[name] = {}
        return values


class StudyImportForm(forms.Form):
    file = forms.FileField(help_text="A study file written by Export (YAML or JSON)")
    name = forms.CharField(max_length=200, required=False, help_text="Import under another name")
