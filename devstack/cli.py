"""`oms-stack up|down|status`: the local stack of real servers, on loopback."""

from __future__ import annotations

import sys
import time

import click

from devstack import processes
from devstack.services import INFRA, Service

BY_NAME = {service.name: service for service in INFRA}


def _select(names: tuple[str, ...]) -> list[Service]:
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise click.BadParameter(f"unknown service(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(BY_NAME)}")
    return [BY_NAME[name] for name in names] if names else list(INFRA)


@click.group()
def main() -> None:
    """Local stack: moto (S3/SQS/SNS), Redis, FerretDB, Apache Kafka."""


@main.command()
@click.argument("names", nargs=-1)
def up(names: tuple[str, ...]) -> None:
    """Install what is missing, start what is down, wait until each answers."""
    failed = []
    for service in _select(names):
        began = time.monotonic()
        try:
            processes.start(service)
        except Exception as exc:
            failed.append(service.name)
            click.echo(f"[devstack] {service.name}: FAILED: {exc}", err=True)
        else:
            click.echo(f"[devstack] {service.name}: up ({time.monotonic() - began:.1f}s)",
                       err=True)
    if failed:
        click.echo(f"[devstack] not ready: {', '.join(failed)}", err=True)
        sys.exit(1)


@main.command()
@click.argument("names", nargs=-1)
def down(names: tuple[str, ...]) -> None:
    """Stop the services this checkout started."""
    for service in reversed(_select(names)):
        stopped = processes.stop(service.name)
        click.echo(f"{service.name}: {'stopped' if stopped else 'not running (from here)'}")


@main.command()
@click.argument("names", nargs=-1)
def status(names: tuple[str, ...]) -> None:
    """Say for each service whether it answers a real request. Exit 1 if any does not."""
    down_count = 0
    for service in _select(names):
        reason = processes.healthy(service)
        pid = processes.running_pid(service.name)
        owner = f"pid {pid}" if pid else "not started here"
        if reason is None:
            click.echo(f"{service.name:9} up    127.0.0.1:{service.port}  ({owner})")
        else:
            down_count += 1
            click.echo(f"{service.name:9} DOWN  127.0.0.1:{service.port}  {reason[:120]}")
    sys.exit(1 if down_count else 0)


if __name__ == "__main__":
    main()
