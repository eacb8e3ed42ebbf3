"""Side-by-side benchmarks of the ModelsLab clients against raw httpx and the openai-SDK peers.

Run everything with `python -m benchmarks.run` (see docs/benchmarks.md). Nothing here is a
runtime dependency of the packages, and nothing here is imported by them.
"""
