"""The typer CLI: one module per command group; console.py is the only printer."""
