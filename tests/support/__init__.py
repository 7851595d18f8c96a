"""The tests' support package, loaded as a pytest plugin (`tests.support.plugin`, named in
tests/conftest.py): one fixture stack for the whole suite, and the helpers the tests import as
plain modules (`from tests.support.tiny_models import build_sd`). Nothing here imports pytest
at package level, so the benchmarks and the package test can build tiny models with it."""
