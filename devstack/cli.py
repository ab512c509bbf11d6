"""`oms-stack`: the local stack of real servers on loopback, and OMS's own processes."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from devstack import demo, processes
from devstack.services import APP, INFRA, Service, api_key

BY_NAME = {service.name: service for service in INFRA + APP}


def _select(names: tuple[str, ...], everything: bool) -> list[Service]:
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise click.BadParameter(
            f"unknown service(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}"
        )
    if names:
        return [BY_NAME[name] for name in names]
    return INFRA + APP if everything else list(INFRA)


def _up(services: list[Service]) -> None:
    failed = []
    for service in services:
        began = time.monotonic()
        try:
            started = processes.start(service)
        except Exception as exc:  # noqa: BLE001  (report every service, then fail)
            failed.append(service.name)
            click.echo(f"[devstack] {service.name}: FAILED: {exc}", err=True)
        else:
            took = f"started in {time.monotonic() - began:.1f}s" if started else "already up"
            click.echo(f"[devstack] {service.name}: {took}", err=True)
    if failed:
        raise click.ClickException(f"not ready: {', '.join(failed)}")


@click.group()
def main() -> None:
    """Local stack: moto (S3/SQS/SNS), Redis, PostgreSQL, FerretDB, Apache Kafka; and
    IMS, API, workers (chunks and express), finalizer, Flower with --all."""


@main.command()
@click.argument("names", nargs=-1)
@click.option(
    "--all", "everything", is_flag=True, help="also IMS, API, workers, finalizer and Flower"
)
def up(names: tuple[str, ...], everything: bool) -> None:
    """Install what is missing, start what is down, wait until each answers."""
    _up(_select(names, everything))


@main.command()
@click.argument("names", nargs=-1)
def down(names: tuple[str, ...]) -> None:
    """Stop the services this checkout started (all of them by default)."""
    for service in reversed(_select(names, everything=True)):
        stopped = processes.stop(service.name, stop_signal=service.stop_signal)
        click.echo(f"{service.name}: {'stopped' if stopped else 'not running (from here)'}")


@main.command()
@click.argument("names", nargs=-1)
def restart(names: tuple[str, ...]) -> None:
    """Stop then start services (to load new code into IMS, API, worker, Flower)."""
    services = _select(names, everything=True) if names else list(APP)
    for service in services:
        processes.stop(service.name, stop_signal=service.stop_signal)
    _up(services)


@main.command()
@click.argument("names", nargs=-1)
def status(names: tuple[str, ...]) -> None:
    """Say for each service whether it answers a real request. Exit 1 if any does not."""
    down_count = 0
    for service in _select(names, everything=True):
        reason = processes.healthy(service)
        pid = processes.running_pid(service.name)
        where = f"127.0.0.1:{service.port}" if service.port else "(SQS consumer)"
        if reason is None:
            owner = f"pid {pid}" if pid else "not started here"
            click.echo(f"{service.name:9} up    {where:16} {owner}")
        else:
            down_count += 1
            click.echo(f"{service.name:9} DOWN  {where:16} {reason[:100]}")
    sys.exit(1 if down_count else 0)


@main.command()
@click.argument(
    "csv_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default="sample_orders.csv",
)
def run(csv_file: Path) -> None:
    """The main job: bring everything up, process CSV_FILE, print the outcome and URLs."""
    _up(INFRA + APP)
    key = api_key()
    upload = demo.run_file(csv_file, key)
    if upload["status"] == "completed":
        upload = demo.wait_finalized(upload, key)
    demo.report(upload, key)
    if upload["status"] != "completed":
        sys.exit(1)


if __name__ == "__main__":
    main()
