"""Forms for the model and judge pages: input shapes and the limits declared in studies.shapes; the service
(studies.services.model_specs) validates meaning, and its per-field problems are put back on the fields."""
from django import forms

from .models import Backend, ModelSpec
from .services.model_specs import MODEL_SPEC_FIELDS, MODEL_SPEC_OUTPUT_FIELDS
from .shapes import SAMPLING, limits


def _bounds(field: str) -> dict:
    low, high = limits(SAMPLING, field)
    exclusive = "exclusiveMinimum" in SAMPLING["properties"][field]
    return {"min_value": None if exclusive else low, "max_value": high}


def _step(field: str) -> dict:
    return {"attrs": {"step": "any"}} if SAMPLING["properties"][field]["type"] == "number" else {}


def _sampling_help(field: str, text: str) -> str:
    low, high = limits(SAMPLING, field)
    above = "above" if "exclusiveMinimum" in SAMPLING["properties"][field] else "from"
    return f"{text} ({above} {low:g} to {high:g})"


class ModelSpecForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Unique; shown on the study page and in reports")
    backend = forms.ChoiceField(choices=Backend.choices, initial=Backend.VLLM,
                                help_text="vLLM loads the model on the GPU worker; an OpenAI-compatible server is "
                                          "called over HTTP")
    model_path = forms.CharField(max_length=500, label="Model path or name",
                                 help_text="vLLM: hub id or local path (e.g. HuggingFaceTB/SmolLM2-135M-Instruct); "
                                           "a server: the served model name")
    revision = forms.CharField(max_length=200, required=False, help_text="Hub revision (commit or tag); optional")
    api_base = forms.CharField(max_length=200, required=False, label="API base URL",
                               help_text="OpenAI-compatible servers only, e.g. http://gpu:8000/v1 (it must be "
                                         "allowed by MODEL_API_BASE_ALLOWLIST)")
    api_key_env = forms.CharField(max_length=100, required=False, label="API key environment variable",
                                  help_text="The NAME of the environment variable that holds this server's key "
                                            "(e.g. OPENAI_API_KEY), never the key itself; empty: no key")
    temperature = forms.FloatField(**_bounds("temperature"), widget=forms.NumberInput(**_step("temperature")),
                                   help_text=_sampling_help("temperature", "Sampling temperature"))
    top_p = forms.FloatField(**_bounds("top_p"), widget=forms.NumberInput(**_step("top_p")), label="Top p",
                             help_text=_sampling_help("top_p", "Nucleus sampling"))
    max_tokens = forms.IntegerField(**_bounds("max_tokens"), label="Max tokens",
                                    help_text=_sampling_help("max_tokens", "Longest answer, in tokens"))
    seed = forms.IntegerField(**_bounds("seed"),
                              help_text=_sampling_help("seed", "Base seed; each row's seed is derived from it"))
    samples_per_prompt = forms.IntegerField(**_bounds("samples_per_prompt"),
                                            help_text=_sampling_help("samples_per_prompt", "Answers per prompt"))
    engine_options = forms.JSONField(required=False, initial=dict, widget=forms.Textarea(attrs={"rows": 3}),
                                     help_text='Extra engine arguments as a JSON object, e.g. {"dtype": "bfloat16"}; '
                                               'servers: {"timeout": 60}; {"dry_run": true} for a stand-in '
                                               'that never calls a model')
    is_judge = forms.BooleanField(required=False, label="This model is a judge",
                                  help_text="A judge scores other models' responses with the rubric below")
    rubric_prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}), label="Rubric prompt",
                                    help_text="Judges only: the instructions the judge scores each response by")

    def __init__(self, *args, frozen: bool = False, judge: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        defaults = ModelSpec()
        for name in ("temperature", "top_p", "max_tokens", "seed", "samples_per_prompt"):
            self.fields[name].initial = getattr(defaults, name)  # a new model starts from the model's defaults
        self.frozen_fields = [name for name in MODEL_SPEC_OUTPUT_FIELDS if name in self.fields] if frozen else []
        for name in self.frozen_fields:
            self.fields[name].disabled = True
            self.fields[name].help_text = f"Frozen: stored outputs depend on it. {self.fields[name].help_text}"
        if judge:
            self.fields["rubric_prompt"].required = True
            self.fields["rubric_prompt"].help_text = "The instructions the judge scores each response by"

    @staticmethod
    def initial_for(spec: ModelSpec) -> dict:
        return {name: getattr(spec, name) for name in MODEL_SPEC_FIELDS}

    def changed_values(self) -> dict:
        """The cleaned values of enabled fields (engine options default to {})."""
        values = {name: value for name, value in self.cleaned_data.items() if not self.fields[name].disabled}
        if "engine_options" in values and values["engine_options"] is None:
            values["engine_options"] = {}
        return values

    def add_service_errors(self, problems: dict) -> None:
        """A refusal's per-field problems, each under its field (the rest for the whole form)."""
        for name, problem in problems.items():
            text = problem if isinstance(problem, str) else "; ".join(map(str, problem))
            if name in self.fields:
                self.add_error(name, text)
            else:
                self.add_error(None, f"{name}: {text}")
