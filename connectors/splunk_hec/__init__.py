"""Splunk HTTP Event Collector destination (`type: splunk_hec`).

The HEC emulator used by tests, the demo and benchmarks is `connectors.splunk_hec.emulator`; it
needs the `sandbox` extra (aiohttp) and is not imported here.
"""

from connectors.splunk_hec.config import SplunkHecConfig, TenantOverride
from connectors.splunk_hec.connector import SplunkHecDestination
from connectors.splunk_hec.delivery import HecStats
from connectors.splunk_hec.replies import REPLY_TABLE, Action, HecReply, Rule, rule_for

__all__ = [
    "REPLY_TABLE",
    "Action",
    "HecReply",
    "HecStats",
    "Rule",
    "SplunkHecConfig",
    "SplunkHecDestination",
    "TenantOverride",
    "rule_for",
]
