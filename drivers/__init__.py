"""Device drivers (scanner, scale, camera, cradle) and their simulators: not built yet."""
