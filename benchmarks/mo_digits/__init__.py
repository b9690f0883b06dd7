"""End-to-end multi-objective benchmark on digits (issue 15): five searcher x scheduler
variants at equal epochs, compared by the hypervolume of their cross-validated Pareto sets.

The variants are the YAML files beside this module (one experiment config each); the
runner and the report are ``python -m benchmarks.mo_digits`` (``__main__.py``).
"""
