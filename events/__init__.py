"""Events, venues, ticket tiers, tickets, check-in, drops and discovery."""
