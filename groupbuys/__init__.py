"""Group-buys: a price that falls as more join, card holds until the deadline, settlement in batches."""
