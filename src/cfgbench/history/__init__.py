"""CI runs over time and across runners."""
