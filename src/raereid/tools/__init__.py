"""What a user does with a trained model: pictures, export, search (used by the CLI commands)."""
