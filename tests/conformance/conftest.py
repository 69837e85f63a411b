"""The remote tests' nats-server fixtures, for the JetStream backend's run of the conformance suite."""

from remote.conftest import make_workspace_fixture, single

__all__ = ["make_workspace_fixture", "single"]
