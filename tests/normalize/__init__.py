"""Tests of agent.normalize, mirroring its modules; golden files under golden/."""
