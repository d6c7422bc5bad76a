"""Device drivers (scale, scanner, camera, cradle), the framework that hosts them, simulators."""
