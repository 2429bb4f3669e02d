"""Lifecycle hooks: how the apps above `studies` take part in a study's transitions without `studies`
importing them (the layering runs one way; see the import contract in pyproject.toml).

Both are sent inside `study_transition`'s transaction, so a receiver's exception rolls the change back.
"""
from django.dispatch import Signal

# Before a transition. kwargs: study, to_status. A receiver returns why the move cannot happen, or None.
study_transition_check = Signal()

# After the status changed. kwargs: study, from_status, to_status.
study_status_changed = Signal()
