"""Tests of `hotstart.audit` (a package so that `test_classify` etc. do not clash with the
same-named modules in tests/measure)."""
