"""The demo: a whole station with simulated hardware, a reference upstream and a short shift."""
