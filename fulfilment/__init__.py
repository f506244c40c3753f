"""Getting goods to buyers: shipping batches, shipments, pickup windows and pickups, fulfilment costs."""
