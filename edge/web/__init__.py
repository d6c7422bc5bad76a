"""What the hub serves to browsers: the station's web app (`app/`, at `/app/`), vendored
libraries (`vendor/`, from npm by scripts/vendor-web.sh, never a CDN) and the API's own
documentation page."""

from edge.web.api_docs import VENDOR_DIR, serve_api_docs
from edge.web.pwa import APP_DIR, Shell, serve_pwa

__all__ = ["APP_DIR", "VENDOR_DIR", "Shell", "serve_api_docs", "serve_pwa"]
