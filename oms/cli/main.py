"""Placeholder replaced by the CLI implementation."""

import click


@click.group()
def main() -> None:
    """OMS command line."""
