"""Tests of `hotstart fix` (a package, like tests/audit, so that its module names cannot clash
with same-named test modules elsewhere)."""
