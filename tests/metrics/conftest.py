"""The engine's deployment fixtures, shared with the pipeline tests."""

from tests.pipeline.conftest import clock, deployment, emulator

__all__ = ["clock", "deployment", "emulator"]
