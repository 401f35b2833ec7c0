"""nordpass-siem-agent: forwards NordPass Business Activity Log events to SIEMs.

The package follows the data flow: `nordpass` (the source API and its sandbox emulator) →
`pipeline` (windows, identity, delivery) → `normalize` (one renderer per schema) → the
destination connectors in the sibling `connectors` package. `config` and `cli` sit around them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
