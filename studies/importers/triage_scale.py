"""Reading a case set's declared triage scale from the upload's option (default: ESI 1-5).

Accepted forms of the option:
* empty / None / "ESI": the default Emergency Severity Index, ESI 1 (most urgent) to 5;
* a JSON object with the shape `studies.shapes.TRIAGE_SCALE`, e.g.
  {"name": "Primary care", "ordered": true, "most_urgent": "last",
   "levels": [{"value": "routine", "label": "Routine"}, ..., {"value": "emergency", "label": "Emergency"}]};
* the same as a dict (API callers).
Levels are listed in scale order; values must be distinct.
"""
from __future__ import annotations

import json

from ..schema import default_triage_scale
from ..shapes import TRIAGE_SCALE, problems


def triage_scale_read(option) -> dict:
    """The declared scale, or ValueError naming every problem."""
    if option is None or (isinstance(option, str) and option.strip().upper() in ("", "ESI")):
        return default_triage_scale()
    if isinstance(option, str):
        try:
            option = json.loads(option)
        except ValueError:
            raise ValueError("The triage scale must be 'ESI' or a JSON object with name, ordered and levels.") from None
    found = problems(TRIAGE_SCALE, option)
    if found:
        raise ValueError("Triage scale: " + "; ".join(m for msgs in found.values() for m in msgs))
    values = [str(level["value"]).strip() for level in option["levels"]]
    if len(set(values)) != len(values):
        raise ValueError("Triage scale: every level needs its own value.")
    return {"name": option["name"], "ordered": option["ordered"], "most_urgent": option.get("most_urgent", "first"),
            "levels": [{"value": v, "label": str(level.get("label") or v)}
                       for v, level in zip(values, option["levels"], strict=True)]}
