"""CI runs over time and across runners: the history's files (store), each
series' trend (trend) with Apache Otava's change points (changepoints), and
one table across the runners of a fleet (fleet, where)."""
