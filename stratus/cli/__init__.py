"""The `stratus` command and the all-in-one launcher: the top floor."""
