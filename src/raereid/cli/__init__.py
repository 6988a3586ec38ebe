"""Command-line interface (`raereid COMMAND ...`)."""
