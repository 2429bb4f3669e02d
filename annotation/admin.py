from django.contrib import admin

from .models import Assignment, Case, CaseSet, ModelSpec, Persona, Rating, Response, Study

admin.site.register([CaseSet, Case, Persona, ModelSpec, Study, Response, Assignment, Rating])
