"""Evidence photos: the current frame as a JPEG in the content-addressed blob store."""

from __future__ import annotations

from typing import NamedTuple, Protocol

import cv2

from drivers.camera.frames import Frame


class BlobSink(Protocol):
    """What the journal's BlobStore offers: put bytes, get their sha256 hex back."""

    def put(self, data: bytes) -> str: ...


class EvidencePhoto(NamedTuple):
    sha256: str
    width: int
    height: int


def encode_jpeg(frame: Frame, quality: int = 90) -> bytes:
    """JPEG bytes of a BGR or gray frame; `quality` 1–100."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1–100, got {quality}")
    ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a frame of shape {frame.shape} as JPEG")
    return buffer.tobytes()


def store_photo(frame: Frame, blobs: BlobSink, quality: int = 90) -> EvidencePhoto:
    """Encode and store; returns the blob's sha256 and the picture's size."""
    sha256 = blobs.put(encode_jpeg(frame, quality))
    height, width = frame.shape[:2]
    return EvidencePhoto(sha256, int(width), int(height))
