"""Benchmarks: each ``bench/bench_*.py`` measures one part against a peer in the same run and prints Markdown.

Run them all with ``python -m bench`` (``make bench``), or one with ``python -m bench ipp``.
"""
