"""The one publish path every event leaves through."""
