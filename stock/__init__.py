"""Stock across places: central stock and pop-ups, the movement ledger, overrides, the pop-up till."""
