"""Subcommands of `litellm-gitops`, one module each (registered in generator.cli)."""
