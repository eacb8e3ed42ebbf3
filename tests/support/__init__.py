"""Helpers the tests share: plain modules, no fixtures (fixtures live in conftest files and
call these). Nothing here imports a conftest or a test module."""
