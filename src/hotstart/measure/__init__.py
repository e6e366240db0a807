"""Measure where a target's start-up time and memory go (`hotstart profile`)."""
