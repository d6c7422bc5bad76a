"""A camera as a code reader: capture, pure decode pipeline (zxing-cpp + pyzbar), photos."""

from drivers.camera.capture import FrameGrabber, LatestFrame
from drivers.camera.decode import DEFAULT_BLUR_THRESHOLD, DecodePipeline, FrameDecode, decode_gray
from drivers.camera.driver import CameraDriver, CameraError, CameraStats
from drivers.camera.frames import Frame, Roi, crop, sharpness, to_gray
from drivers.camera.photo import BlobSink, EvidencePhoto, encode_jpeg, store_photo
from drivers.camera.readers import ZBAR, ZXING, DecodedCode, read_zbar, read_zxing, zbar_available
from drivers.camera.repeats import RepeatFilter
from drivers.camera.sources import (
    CameraSource,
    FrameSource,
    ImageFolderSource,
    SourceError,
    UnreadableFrame,
    VideoFileSource,
    open_source,
)

__all__ = [
    "DEFAULT_BLUR_THRESHOLD",
    "ZBAR",
    "ZXING",
    "BlobSink",
    "CameraDriver",
    "CameraError",
    "CameraSource",
    "CameraStats",
    "DecodePipeline",
    "DecodedCode",
    "EvidencePhoto",
    "Frame",
    "FrameDecode",
    "FrameGrabber",
    "FrameSource",
    "ImageFolderSource",
    "LatestFrame",
    "RepeatFilter",
    "Roi",
    "SourceError",
    "UnreadableFrame",
    "VideoFileSource",
    "crop",
    "decode_gray",
    "encode_jpeg",
    "open_source",
    "read_zbar",
    "read_zxing",
    "sharpness",
    "store_photo",
    "to_gray",
    "zbar_available",
]
