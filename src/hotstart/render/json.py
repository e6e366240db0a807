"""The profile as JSON (schema `hotstart.profile/1`), the format every other tool reads."""

from __future__ import annotations

import json

from ..measure.model import Profile

__all__ = ["render_json"]


def render_json(profile: Profile) -> str:
    return json.dumps(profile.to_dict(), indent=1) + "\n"
