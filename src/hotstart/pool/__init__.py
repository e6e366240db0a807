"""Warm pool: workers forked from a preloaded template (in progress; see issue 4)."""
