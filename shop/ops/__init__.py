"""Commands for operators: the flask CLI, imports, the demo county, backups."""
