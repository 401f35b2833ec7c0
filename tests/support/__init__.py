"""Test doubles shared by the test packages: stand-ins at the system's boundaries only."""

from tests.support.memory_destination import MemoryDestination

__all__ = ["MemoryDestination"]
