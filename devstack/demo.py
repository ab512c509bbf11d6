"""Upload a CSV to the running API, follow it to the end, print the outcome and the URLs."""

from __future__ import annotations

import time
from pathlib import Path

import click
import requests

from devstack.services import flower_credentials

API = "http://127.0.0.1:8080"
FLOWER = "http://127.0.0.1:5555"
TERMINAL = {"completed", "failed", "rejected"}


def run_file(path: Path, key: str, timeout: float = 600) -> dict:
    headers = {"X-API-Key": key}
    with path.open("rb") as handle:
        response = requests.post(
            f"{API}/upload",
            files={"file": (path.name, handle, "text/csv")},
            headers=headers,
            timeout=300,
        )
    if response.status_code != 202:
        raise click.ClickException(f"upload refused ({response.status_code}): {response.text}")
    accepted = response.json()
    click.echo(f"uploaded {path.name}: upload {accepted['upload_id']} ({accepted['size']} bytes)")
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        upload = requests.get(f"{API}{accepted['status_url']}", headers=headers, timeout=10).json()
        line = (
            f"  {upload['status']:<11} chunks {upload['chunks']['done']}/"
            f"{upload['chunks']['total']}  valid {upload['counts']['valid']}  "
            f"invalid {upload['counts']['invalid']}"
        )
        if line != last:
            click.echo(line)
            last = line
        if upload["status"] in TERMINAL:
            return upload
        time.sleep(0.5)
    raise click.ClickException(f"upload {accepted['upload_id']} did not finish in {timeout}s")


def wait_finalized(upload: dict, key: str, timeout: float = 300) -> dict:
    """Follow the upload until the finalizer has decided every order (none on hold)."""
    headers = {"X-API-Key": key}
    deadline = time.monotonic() + timeout
    last = None
    while True:
        upload = requests.get(f"{API}{upload['status_url']}", headers=headers, timeout=10).json()
        statuses = upload["order_status"]
        line = (
            f"  finalizing  confirmed {statuses['confirmed']}  backordered "
            f"{statuses['backordered']}  on hold {statuses['on_hold']}"
        )
        if line != last:
            click.echo(line)
            last = line
        if statuses["on_hold"] == 0 or time.monotonic() > deadline:
            return upload
        time.sleep(0.5)


def report(upload: dict, key: str) -> None:
    counts = upload["counts"]
    click.echo("")
    click.echo(
        f"status        {upload['status']}"
        + (f" ({upload['error']})" if upload.get("error") else "")
    )
    click.echo(f"rows          {counts['rows']}")
    click.echo(f"valid orders  {counts['valid']}")
    click.echo(f"invalid rows  {counts['invalid']} (duplicates among them: {counts['duplicate']})")
    click.echo(f"duration      {upload.get('duration_s')} s")
    statuses = upload["order_status"]
    click.echo(
        f"orders        confirmed {statuses['confirmed']}, backordered "
        f"{statuses['backordered']}, on hold {statuses['on_hold']}, cancelled "
        f"{statuses['cancelled']}"
    )
    if upload.get("invalid_file"):
        click.echo(f"invalid file  {upload['invalid_file']}  ->  {API}{upload['invalid_file_url']}")
    click.echo("")
    click.echo(f"API           {API}   (OpenAPI: {API}/openapi.json)")
    click.echo(f"upload page   {API}/")
    click.echo(f"upload status {API}{upload['status_url']}")
    user, _, password = flower_credentials().partition(":")
    click.echo(f"Flower        {FLOWER}   (user {user}, password {password})")
    click.echo(f"stats         {API}/stats")
    click.echo(f"API docs      {API}/docs")
    click.echo("")
    click.echo(f"API key       {key}   (header X-API-Key; the page asks for it once;")
    click.echo(f"              for the CLI: export OMS_API_KEY={key})")
