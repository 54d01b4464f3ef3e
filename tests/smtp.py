"""A small SMTP server on a real socket, for tests that need to act at a precise moment of a send.

It speaks just enough SMTP for smtplib (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT) and calls back at the two moments the outbox cares about: the end of
DATA, before the server answers (the message has reached the server, but the
sender does not know it yet), and QUIT.
"""

import socketserver
import threading
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from types import TracebackType

from django.db import connections


class _Session(socketserver.StreamRequestHandler):
    server: "_TCPServer"

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        smtp = self.server.smtp
        try:
            self.reply("220 smtp.test ESMTP")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
                if verb in {"EHLO", "HELO"}:
                    self.reply("250-smtp.test")
                    self.reply("250 8BITMIME")
                elif verb in {"MAIL", "RCPT", "RSET", "NOOP"}:
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    message = self.read_data()
                    if message is None:
                        return
                    smtp.messages.append(message)
                    if smtp.on_data is not None and smtp.on_data(message) is False:
                        return  # hang up without answering
                    self.reply("250 OK queued")
                elif verb == "QUIT":
                    if smtp.on_quit is not None:
                        smtp.on_quit()
                    self.reply("221 Bye")
                    return
                else:
                    self.reply("502 Command not implemented")
        except OSError:
            return  # the client went away
        finally:
            # A callback may have used the ORM in this thread.
            connections.close_all()

    def read_data(self) -> Message | None:
        lines = []
        while True:
            line = self.rfile.readline()
            if not line:
                return None
            if line in {b".\r\n", b".\n"}:
                return message_from_bytes(b"".join(lines))
            lines.append(line[1:] if line.startswith(b"..") else line)


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    smtp: "SMTPServer"


class SMTPServer:
    """``with SMTPServer() as server:`` listens on 127.0.0.1:``server.port``.

    ``on_data(message)`` runs when a message has been received, before the
    answer; returning False hangs up instead of answering. ``on_quit()`` runs
    when the client says QUIT, before the answer.
    """

    def __init__(
        self,
        *,
        on_data: Callable[[Message], bool | None] | None = None,
        on_quit: Callable[[], None] | None = None,
    ):
        self.on_data = on_data
        self.on_quit = on_quit
        self.messages: list[Message] = []
        self._server = _TCPServer(("127.0.0.1", 0), _Session)
        self._server.smtp = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server as an ``EMAIL_URL`` (django-environ syntax)."""
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> "SMTPServer":
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
