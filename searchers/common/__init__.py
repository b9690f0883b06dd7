"""Helpers that ``searchers``, ``schedulers`` and ``pipeline`` share (the bottom layer).

Nothing here imports Ray, torch or any other package of ours.
"""
