"""`python -m cfgbench` is the `cfgbench` command."""

from cfgbench.cli import main

main()
