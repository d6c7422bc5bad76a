"""Station provisioning from a signed QR code, enrollment and zeroconf discovery: not built yet."""
