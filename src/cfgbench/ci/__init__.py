"""The bare-metal CI job's decisions, where tests reach them; the workflow only calls commands (docs/ci-runner.md)."""
