"""The `nordpass-agent` command line: run, backfill, check, sandbox.

Exit codes: 0 success; 1 the work did not complete (a summary says what is missing);
2 the configuration or the state directory is unusable.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Protocol

import typer

from agent import __version__
from agent.clock import SystemClock
from agent.config import AgentConfig, AgentSettings, load_config, parse_start_point
from agent.errors import ConfigError, FatalError
from agent.failpoints import Failpoints
from agent.health import check_connectivity
from agent.logs import configure_logging
from agent.metrics import MetricsServer
from agent.runtime import Agent, BackfillReport
from agent.scheduler import run_forever

__all__ = ["app", "main"]


class SandboxOrganizationInfo(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def uuid(self) -> str: ...
    @property
    def token(self) -> str: ...


app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML configuration [env NORDPASS_AGENT_CONFIG]"),
]


def _version(show: bool) -> None:
    if show:
        typer.echo(f"nordpass-agent {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Forward NordPass Business Activity Log events to SIEMs."""


def _settings_and_config(config_path: Path | None) -> tuple[AgentSettings, AgentConfig]:
    settings = AgentSettings()
    configure_logging(settings.log_level, settings.log_format)
    path = config_path or settings.config
    try:
        return settings, load_config(path, os.environ)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


# A pass holds thousands of events as small dicts, all alive until it is stored: with the
# default threshold (700) the collector runs every few rows and re-scans them each time.
_GC_THRESHOLD = (20_000, 10, 10)


def _tune_gc() -> None:
    """Collect young objects less often and leave what start-up loaded (modules, settings) out
    of every later scan: the event path makes no reference cycles worth chasing sooner."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLD)


def _open_agent(config: AgentConfig) -> Agent:
    try:
        return Agent(
            config, clock=SystemClock(), failpoints=Failpoints.from_environment(os.environ)
        )
    except FatalError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def check(
    config: ConfigOption = None,
    offline: Annotated[
        bool, typer.Option(help="Only validate the file; do not contact NordPass or SIEMs.")
    ] = False,
) -> None:
    """Validate the configuration and, unless --offline, reach every tenant and destination."""
    _, loaded = _settings_and_config(config)
    typer.echo(
        f"configuration OK: {len(loaded.tenants)} tenant(s), "
        f"{len(loaded.destinations)} destination(s)"
    )
    if offline:
        return
    problems = asyncio.run(check_connectivity(loaded))
    for line in problems.lines:
        typer.echo(line)
    if not problems.ok:
        raise typer.Exit(1)


@app.command()
def run(config: ConfigOption = None) -> None:
    """Poll every tenant on its interval and forward new events until stopped (SIGTERM/Ctrl-C)."""
    _, loaded = _settings_and_config(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with _open_agent(loaded) as agent:
            metrics = None
            if (address := loaded.metrics.address) is not None:
                metrics = MetricsServer(agent, *address)
                await metrics.start()
            try:
                await run_forever(agent, stop)
            finally:
                if metrics is not None:
                    await metrics.stop()

    asyncio.run(main())


@app.command()
def backfill(
    since: Annotated[
        str, typer.Option(help="Start: 7d (ago), now, an ISO-8601 time or Unix seconds.")
    ],
    until: Annotated[
        str | None, typer.Option(help="End (exclusive), same forms; default: now.")
    ] = None,
    tenant: Annotated[
        list[str] | None, typer.Option("--tenant", help="Only this tenant (repeatable).")
    ] = None,
    destination: Annotated[
        list[str] | None,
        typer.Option(
            "--destination",
            help="Replay into this destination only, with the original ids (repeatable).",
        ),
    ] = None,
    config: ConfigOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Also write the summary as JSON to this file.")
    ] = None,
) -> None:
    """Deliver a time range once and exit: 0 when everything in range was delivered."""
    _, loaded = _settings_and_config(config)
    now = SystemClock().now()
    try:
        start = parse_start_point(_number_or_text(since)).resolve(now)
        end = parse_start_point(_number_or_text(until)).resolve(now) if until else now
    except ValueError as error:
        typer.echo(f"error: --since/--until: {error}", err=True)
        raise typer.Exit(2) from None
    unknown = [name for name in tenant or [] if name not in loaded.tenants]
    unknown += [name for name in destination or [] if name not in loaded.destinations]
    if unknown:
        typer.echo(f"error: not in the configuration: {', '.join(unknown)}", err=True)
        raise typer.Exit(2)

    async def main() -> BackfillReport:
        async with _open_agent(loaded) as agent:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):  # stop, and still report
                loop.add_signal_handler(signum, agent.stop)
            return await agent.backfill(start, end, tenants=tenant, destinations=destination)

    summary = asyncio.run(main())
    _print_backfill(summary)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(_report_dict(summary), indent=2) + "\n")
    if not summary.complete:
        raise typer.Exit(1)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8700,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    organizations: Annotated[int, typer.Option(min=1, help="How many organisations.")] = 3,
    events_per_second: Annotated[float, typer.Option(help="Traffic per organisation.")] = 0.05,
    history_days: Annotated[float, typer.Option(help="Days of history at start.")] = 30.0,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic traffic.")] = 0,
) -> None:
    """Run the emulated NordPass Activity Log API, for trying the agent without an account."""
    try:
        from agent.nordpass.emulator import serve_sandbox  # noqa: PLC0415 - optional extra
    except ImportError:
        typer.echo("error: the sandbox needs the extra: pip install 'nordpass-siem-agent[sandbox]'")
        raise typer.Exit(2) from None

    async def main() -> None:
        server = await serve_sandbox(
            host=host,
            port=port,
            organizations=organizations,
            events_per_second=events_per_second,
            history_days=history_days,
            seed=seed,
        )
        typer.echo(f"sandbox NordPass API at {server.url}\n\n# a configuration for it:")
        typer.echo(_sandbox_config(server.url, server.organizations))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await server.emulator.stop()

    asyncio.run(main())


def _sandbox_config(url: str, organizations: Sequence[SandboxOrganizationInfo]) -> str:
    lines = [
        "state: sqlite:///data/state.db",
        "destinations:",
        "  local-file: {type: file, path: ./out/events.ndjson, format: native}",
        "tenants:",
    ]
    for organization in organizations:
        lines += [
            f"  {organization.name}:",
            (
                f'    nordpass: {{url: "{url}", token: "{organization.token}", '
                f'organization_uuid: "{organization.uuid}"}}'
            ),
            "    destinations: [local-file]",
            "    start: 1d",
        ]
    return "\n".join(lines)


dead_letters_app = typer.Typer(
    no_args_is_help=True,
    help="Events a destination refused as undeliverable (run with the agent stopped).",
)
app.add_typer(dead_letters_app, name="dead-letters")
TenantFilter = Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")]
DestinationFilter = Annotated[
    str | None, typer.Option("--destination", help="Only this destination.")
]


@dead_letters_app.command("list")
def dead_letters_list(
    tenant: TenantFilter = None, destination: DestinationFilter = None, config: ConfigOption = None
) -> None:
    """Show dead letters: id, tenant, destination, event id, attempts, error."""
    _, loaded = _settings_and_config(config)

    async def main() -> None:
        agent = _open_agent(loaded)
        try:
            letters = agent.store.dead_letters.list(tenant, destination)
        finally:
            await agent.close()
        for letter in letters:
            typer.echo(
                f"{letter.id}\t{letter.tenant}\t{letter.destination}\t{letter.event_id}\t"
                f"attempts={letter.attempts}\t{letter.error}"
            )
        typer.echo(f"{len(letters)} dead letter(s)", err=True)

    asyncio.run(main())


@dead_letters_app.command("replay")
def dead_letters_replay(
    tenant: TenantFilter = None, destination: DestinationFilter = None, config: ConfigOption = None
) -> None:
    """Send dead letters again to their destination (same ids); exit 0 once all were accepted."""
    _, loaded = _settings_and_config(config)

    async def main() -> int:
        async with _open_agent(loaded) as agent:
            # Waited for: the destinations letters go back to, not every one (another may be
            # down for a reason of its own).
            letters = {
                pair
                for pair in agent.store.dead_letters.counts()
                if tenant in (None, pair[0]) and destination in (None, pair[1])
            }
            moved = agent.store.dead_letters.replay(tenant, destination)
            for dispatcher in agent.dispatchers.values():
                dispatcher.flush()  # the replayed letters are all there is
            problems = []
            for name in loaded.tenants:
                targets = [d for d in agent.routes[name] if (name, d) in letters]
                problems += await agent.drain(name, targets)
            unrouted = agent.store.dead_letters.unrouted(tenant, destination)
            left = len(agent.store.dead_letters.list(tenant, destination)) - unrouted
        typer.echo(f"replayed {moved} dead letter(s); {left} refused again")
        if unrouted:
            typer.echo(
                f"  {unrouted} kept: their tenant no longer sends to their destination in this "
                "configuration (route it again, or `dead-letters purge` them)"
            )
        for problem in problems:
            typer.echo(f"  {problem}")
        return 1 if problems or left or unrouted else 0

    raise typer.Exit(asyncio.run(main()))


@dead_letters_app.command("purge")
def dead_letters_purge(
    tenant: TenantFilter = None, destination: DestinationFilter = None, config: ConfigOption = None
) -> None:
    """Delete dead letters for good."""
    _, loaded = _settings_and_config(config)

    async def main() -> int:
        agent = _open_agent(loaded)
        try:
            return agent.store.dead_letters.purge(tenant, destination)
        finally:
            await agent.close()

    typer.echo(f"purged {asyncio.run(main())} dead letter(s)")


def _number_or_text(value: str) -> str | float:
    try:
        return float(value)
    except ValueError:
        return value


def _print_backfill(summary: BackfillReport) -> None:
    typer.echo(f"backfill [{summary.since}, {summary.until}):")
    for outcome in summary.tenants:
        delivered = ", ".join(f"{name}={count}" for name, count in outcome.delivered.items())
        status = "complete" if outcome.error is None else f"INCOMPLETE: {outcome.error}"
        refused = "".join(
            f", dead letters {name}={count}" for name, count in outcome.dead_lettered.items()
        )
        typer.echo(
            f"  {outcome.tenant}: fetched {outcome.fetched}, delivered {delivered}{refused}: "
            f"{status}"
        )


def _report_dict(summary: BackfillReport) -> dict[str, object]:
    return {
        "since": summary.since,
        "until": summary.until,
        "complete": summary.complete,
        "tenants": [
            {
                "tenant": outcome.tenant,
                "fetched": outcome.fetched,
                "delivered": outcome.delivered,
                "dead_lettered": outcome.dead_lettered,
                "error": outcome.error,
            }
            for outcome in summary.tenants
        ],
    }


def main() -> None:
    """The `nordpass-agent` console entry point (a process of its own)."""
    _tune_gc()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
