"""Upload handling: no uploaded file is kept past the image size limit.

Django reads a multipart body to its end to reach every field, and by default
keeps each file whole (in memory, or in a temporary file) before any form can
look at its size. ``ImageSizeLimitUploadHandler`` comes first in
``FILE_UPLOAD_HANDLERS``: once a file passes ``IMAGE_UPLOAD_MAX_BYTES`` it
passes nothing more of it to the handlers that keep files, and hands the form
an empty stand-in that still knows the real size, so the form can say "at
most 5 MB; this one is 12.3 MB". ``RequestSizeLimitMiddleware`` refuses a
body larger than ``UPLOAD_MAX_REQUEST_BYTES`` before any of it is read.
"""

import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizedUpload(UploadedFile):
    """A file that was too large to keep: its name and real size, no content."""

    def __init__(self, name: str, content_type: str, size: int, charset: str | None, content_type_extra=None):
        super().__init__(io.BytesIO(), name, content_type, size, charset, content_type_extra)


class ImageSizeLimitUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.IMAGE_UPLOAD_MAX_BYTES:
            self.too_large = True
        # None stops the chunk here: the handlers after this one keep nothing more of the file.
        return None if self.too_large else raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.too_large:
            return None  # the next handler returns the file it kept
        return OversizedUpload(
            self.file_name, self.content_type, file_size, self.charset, self.content_type_extra
        )
