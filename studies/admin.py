"""Django admin for what admins set up. Saves go through the same services as the pages and the API:
case sets come in only through the upload view, a used persona is versioned, a used model spec keeps
its generation settings, a study's status changes only through its lifecycle.
"""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.roles import ADMIN, user_has_role
from config.exceptions import ApplicationError

from .models import AuditEvent, Case, CaseSet, ModelSpec, Persona, Response, Study, StudyStatus
from .services.case_sets import case_set_import
from .services.model_specs import (
    MODEL_SPEC_FIELDS,
    model_spec_check_update,
    model_spec_clean,
    model_spec_create,
    model_spec_update,
)
from .services.personas import CONTENT_FIELDS as PERSONA_FIELDS
from .services.personas import EDITABLE_FIELDS as PERSONA_EDITABLE
from .services.personas import persona_clean, persona_create, persona_update
from .services.studies import (
    EDITABLE_BY_STATUS,
    STUDY_FIELDS,
    study_clean,
    study_create,
    study_transition,
    study_update,
)


def _as_validation_error(exc: ApplicationError) -> ValidationError:
    fields = exc.extra.get("fields") or {}
    return ValidationError({k: v for k, v in fields.items()} if fields else exc.message)


class ServiceForm(forms.ModelForm):
    """A ModelForm whose clean() asks the service, so the admin shows the service's messages per field."""

    def _service_clean(self, data: dict) -> None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                self._service_clean(cleaned)
            except ApplicationError as exc:
                error = _as_validation_error(exc)
                unknown = [k for k in getattr(error, "error_dict", {}) if k not in self.fields]
                raise ValidationError(exc.message) if unknown else error from None
        return cleaned


class SetupAdmin(admin.ModelAdmin):
    """Open to the admin role (a group, not per-model Django permissions), like the setup pages."""

    def _is_admin(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and user_has_role(request.user, ADMIN)

    def has_module_permission(self, request):
        return self._is_admin(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._is_admin(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._is_admin(request) or super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._is_admin(request) or super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._is_admin(request) or super().has_delete_permission(request, obj)


# ------------------------------------------------------------------------------------------------ case sets

class CaseSetUploadAdminForm(forms.Form):
    file = forms.FileField(help_text="CSV, JSON, JSONL or .gz of one of them, UTF-8 (docs/case-set-format.md)")
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    new_version = forms.BooleanField(required=False, help_text="Create a new version from this file")
    dry_run = forms.BooleanField(required=False, initial=True, help_text="Check and report only")


@admin.register(CaseSet)
class CaseSetAdmin(SetupAdmin):
    list_display = ("name", "version", "case_count", "owner", "short_hash", "source_filename", "created_at")
    search_fields = ("name", "description")
    readonly_fields = ("name", "version", "owner", "content_hash", "source_filename", "created_at", "updated_at",
                       "cases_link")
    fields = ("name", "version", "description", "owner", "content_hash", "source_filename", "cases_link",
              "created_at", "updated_at")
    change_list_template = "admin/studies/caseset/change_list.html"

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("owner").annotate(n_cases=Count("cases"))

    @admin.display(description="cases", ordering="n_cases")
    def case_count(self, obj):
        return obj.n_cases

    @admin.display(description="content hash")
    def short_hash(self, obj):
        return obj.content_hash[:12]

    @admin.display(description="cases")
    def cases_link(self, obj):
        url = reverse("admin:studies_case_changelist") + f"?case_set__id__exact={obj.pk}"
        return format_html('<a href="{}">{} cases</a>', url, obj.cases.count())

    def get_urls(self):
        return [path("upload/", self.admin_site.admin_view(self.upload_view), name="studies_caseset_upload"),
                *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:studies_caseset_upload")

    def upload_view(self, request):
        """The case_set_import service behind an admin form: dry run by default, every error listed."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = CaseSetUploadAdminForm(request.POST or None, request.FILES or None)
        result = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = case_set_import(file=data["file"], name=data["name"], owner=request.user,
                                         description=data["description"], new_version=data["new_version"],
                                         dry_run=data["dry_run"])
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                errors = exc.extra.get("errors", [])
                context = {"errors": [e["text"] for e in errors], "conflicting_ids": exc.extra.get("conflicting_ids")}
            else:
                if result.changed and not result.dry_run:
                    self.message_user(request, result.message, messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:studies_caseset_change", args=[result.case_set.pk]))
                self.message_user(request, result.message, messages.INFO if result.ok else messages.ERROR)
                context = {"errors": [str(e) for e in result.errors], "conflicting_ids": result.conflicting_ids}
            context["result"] = result
        else:
            context = {}
        return TemplateResponse(request, "admin/studies/caseset/upload.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": "Upload cases", **context,
        })


@admin.register(Case)
class CaseAdmin(SetupAdmin):
    """Cases are read-only here: they are part of a hashed case set; change them with a new version."""

    list_display = ("external_id", "case_set", "task_type", "care_setting", "reference_answer")
    list_filter = ("task_type", "care_setting", "case_set")
    search_fields = ("external_id", "vignette", "question")
    list_select_related = ("case_set",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ------------------------------------------------------------------------------------------------ personas

class PersonaAdminForm(ServiceForm):
    class Meta:
        model = Persona
        fields = ("slug", *PERSONA_FIELDS)

    def _service_clean(self, data):
        persona_clean({**{f: getattr(self.instance, f) for f in PERSONA_FIELDS}, **data})


@admin.register(Persona)
class PersonaAdmin(SetupAdmin):
    form = PersonaAdminForm
    list_display = ("slug", "version", "name", "role", "style", "is_medical", "is_baseline", "is_current")
    list_filter = ("is_current", "is_medical", "style", "is_baseline")
    search_fields = ("slug", "name", "role", "system_prompt_template")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("version", "previous", "is_current")
        return ("slug", "version", "previous", "is_current", "is_baseline",
                *(() if obj.is_current else PERSONA_EDITABLE))

    def get_fields(self, request, obj=None):
        return ("slug", *PERSONA_FIELDS, "version", "previous", "is_current")

    def save_model(self, request, obj, form, change):
        if not change:
            created = persona_create(slug=obj.slug, **{f: form.cleaned_data.get(f) for f in PERSONA_FIELDS})
            obj.pk = created.pk
            return
        if not obj.is_current:
            return  # every field is read-only on old versions
        saved = persona_update(persona=Persona.objects.get(pk=obj.pk), actor=request.user,
                               **{f: form.cleaned_data[f] for f in PERSONA_EDITABLE if f in form.cleaned_data})
        request._persona_saved_as = saved

    def response_change(self, request, obj):
        saved = getattr(request, "_persona_saved_as", None)
        if saved is not None and saved.pk != obj.pk:
            self.message_user(request, f"Generated responses or a running study use {obj}, so the edit was saved as "
                                       f"version {saved.version}.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:studies_persona_change", args=[saved.pk]))
        return super().response_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # responses and revisions point at personas; versions are the history


# ------------------------------------------------------------------------------------------------ model specs

class ModelSpecAdminForm(ServiceForm):
    api_base = forms.CharField(required=False, max_length=200, help_text=ModelSpec._meta.get_field(
        "api_base").help_text)  # checked by the service, which accepts docker host names

    class Meta:
        model = ModelSpec
        fields = MODEL_SPEC_FIELDS

    def _service_clean(self, data):
        if self.instance.pk:
            model_spec_check_update(self.instance, {f: data[f] for f in MODEL_SPEC_FIELDS if f in data})
        else:
            model_spec_clean(dict(data))


@admin.register(ModelSpec)
class ModelSpecAdmin(SetupAdmin):
    form = ModelSpecAdminForm
    list_display = ("name", "backend", "model_path", "revision", "temperature", "top_p", "max_tokens",
                    "samples_per_prompt", "is_judge")
    list_filter = ("backend", "is_judge")
    search_fields = ("name", "model_path")

    def save_model(self, request, obj, form, change):
        fields = {f: form.cleaned_data[f] for f in MODEL_SPEC_FIELDS if f in form.cleaned_data}
        if change:
            model_spec_update(model_spec=ModelSpec.objects.get(pk=obj.pk), actor=request.user, **fields)
        else:
            obj.pk = model_spec_create(**fields).pk


# ------------------------------------------------------------------------------------------------ studies

class StudyAdminForm(ServiceForm):
    class Meta:
        model = Study
        fields = STUDY_FIELDS

    def _service_clean(self, data):
        study_clean({k: v for k, v in data.items() if k in STUDY_FIELDS})


def _transition_action(to_status: str):
    def action(modeladmin, request, queryset):
        for study in queryset:
            try:
                study_transition(study=study, to_status=to_status, user=request.user)
            except ApplicationError as exc:
                modeladmin.message_user(request, exc.message, messages.ERROR)
            else:
                modeladmin.message_user(request, f"'{study.name}' is now {to_status}.", messages.SUCCESS)

    action.__name__ = f"move_to_{to_status}"
    return admin.action(description=f"Move selected studies to {to_status}")(action)


@admin.register(Study)
class StudyAdmin(SetupAdmin):
    form = StudyAdminForm
    list_display = ("name", "status", "owner", "raters_per_response", "created_at", "page_link")
    list_filter = ("status",)
    search_fields = ("name", "description")
    filter_horizontal = ("case_sets", "personas", "model_specs", "extra_judges")
    actions = [_transition_action(s) for s in (StudyStatus.GENERATING, StudyStatus.RATING, StudyStatus.CLOSED)]

    @admin.display(description="page")
    def page_link(self, obj):
        return format_html('<a href="{}">open</a>', reverse("studies:study_detail", args=[obj.pk]))

    def get_fields(self, request, obj=None):
        return ("status", "owner", *STUDY_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        editable = EDITABLE_BY_STATUS[obj.status if obj else StudyStatus.DRAFT]
        return ("status", "owner", *(f for f in STUDY_FIELDS if f not in editable))

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in STUDY_FIELDS if f in form.cleaned_data}
        if change:
            study_update(study=obj, actor=request.user,
                         **{k: v for k, v in values.items() if k in form.changed_data})
        else:
            obj.pk = study_create(owner=request.user, **values).pk

    def save_related(self, request, form, formsets, change):
        """The service set the many-to-many fields (and the baseline) already."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)



@admin.register(AuditEvent)
class AuditEventAdmin(SetupAdmin):
    """The audit log, read only: events are appended by the services, never edited or removed."""

    list_display = ("created_at", "study", "action", "actor")
    list_filter = ("action", "study")
    readonly_fields = ("created_at", "study", "actor", "action", "detail")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(Response)
