"""A faithful local Splunk HTTP Event Collector for tests, the demo and benchmarks.

Real HTTP(S) on an ephemeral port: tokens with index allow-lists and indexer acknowledgement,
gzip, concatenated envelopes with Splunk's codes and `invalid-event-number`, the body size limit,
data channels, and scriptable faults. It records what it indexed. Needs the `sandbox` extra.
"""

from connectors.splunk_hec.emulator.channels import AckLedger
from connectors.splunk_hec.emulator.intake import Rejection, TokenDefaults, read_envelopes
from connectors.splunk_hec.emulator.knobs import Fault, FaultKind, HecKnobs
from connectors.splunk_hec.emulator.server import (
    HecEmulator,
    HecRequestRecord,
    HecToken,
    IndexedEvent,
)

__all__ = [
    "AckLedger",
    "Fault",
    "FaultKind",
    "HecEmulator",
    "HecKnobs",
    "HecRequestRecord",
    "HecToken",
    "IndexedEvent",
    "Rejection",
    "TokenDefaults",
    "read_envelopes",
]
