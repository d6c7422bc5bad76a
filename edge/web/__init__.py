"""What the hub serves to browsers: vendored libraries (`vendor/`, from npm by
scripts/vendor-web.sh, never a CDN) and the API's own documentation page."""

from edge.web.api_docs import VENDOR_DIR, serve_api_docs

__all__ = ["VENDOR_DIR", "serve_api_docs"]
