"""`python -m agent` is the same as `nordpass-agent`."""

from agent.cli import main

main()
