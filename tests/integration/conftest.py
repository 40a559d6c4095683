"""Shared pytest set-up: make tests/lib importable and register markers."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long emulator runs (skipped by make test-fast)")
