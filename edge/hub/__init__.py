"""The station hub: workflows over bus readings and API requests, the read model, live feed."""
