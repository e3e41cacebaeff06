"""``keyaccount schema NAME``: print the JSON Schema of a published document (``docs/json.md``).

Registered in the command table as ``"schema": "keyaccount.cli._schema_command:schema_command"``.
The schema goes to stdout as JSON (``keyaccount schema customer | python -m json.tool``);
``--list`` prints the names, one a line. An unknown name is a usage error (exit code 2)
whose one line names the allowed names.
"""

from __future__ import annotations

import json

import click

__all__ = ["schema_command"]


@click.command("schema")
@click.argument("name", required=False)
@click.option("--list", "list_names", is_flag=True, help="Print the schema names, one a line.")
def schema_command(name: str | None, list_names: bool) -> None:
    """Print the JSON Schema (draft 2020-12) of the document NAME, such as `customer`.

    Every value and result keyaccount writes as JSON has one: `transition`,
    `evaluation`, `metrics-row`, `recommendation`, `payout-run`, ... (`--list`).
    """
    from keyaccount.json import SCHEMAS, schema  # imported when the command runs

    if list_names:
        if name is not None:
            raise click.UsageError("give a schema NAME or --list, not both")
        click.echo("\n".join(SCHEMAS))
        return
    if name is None:
        raise click.UsageError("missing schema NAME (keyaccount schema --list names them)")
    if name not in SCHEMAS:
        raise click.BadParameter(
            f"unknown schema {name!r}; expected one of {', '.join(SCHEMAS)}", param_hint="NAME"
        )
    click.echo(json.dumps(schema(name), indent=2, ensure_ascii=False))
