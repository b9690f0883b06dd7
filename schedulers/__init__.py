"""mftune trial schedulers for Ray Tune (rung logic, ASHA, Hyperband/BOHB).

Nothing here imports the ``pipeline`` package.
"""
