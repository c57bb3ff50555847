"""Lab tests: a package, so this conftest is lab.conftest and does not shadow tests/conftest.py."""
