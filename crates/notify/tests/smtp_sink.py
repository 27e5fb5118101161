#!/usr/bin/env python3
"""A real SMTP server for the notify tests (aiosmtpd): every message it accepts is written
as a .eml file into a directory, then answered 250.

    python3 smtp_sink.py PORT DIR [--fail-first N] [--auth USER:PASSWORD]

--fail-first N   answer 451 (temporary failure) to the first N DATA commands
--auth U:P       require AUTH (PLAIN/LOGIN, allowed without TLS) with these credentials

Files are written under a temporary name and renamed, so a reader never sees half a
message; a message is on disk before its 250 is sent. Stops on SIGTERM or SIGINT.
"""

import argparse
import logging
import os
import signal
import sys
import threading
import uuid
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd warns that AUTH without TLS is unsafe: it is what the tests want.
warnings.filterwarnings("ignore")
logging.getLogger("mail.log").setLevel(logging.ERROR)


class Sink:
    def __init__(self, directory, fail_first):
        self.directory = directory
        self.fail_left = fail_first
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                return "451 4.3.0 Temporary failure, try again later"
            self.count += 1
            name = f"{self.count:06d}-{uuid.uuid4().hex}.eml"
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.content)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 2.0.0 Message accepted for delivery"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("directory")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--auth", default=None)
    args = parser.parse_args()

    os.makedirs(args.directory, exist_ok=True)
    options = {}
    if args.auth:
        user, _, password = args.auth.partition(":")
        options = dict(
            authenticator=Authenticator(user, password),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(
        Sink(args.directory, args.fail_first),
        hostname="127.0.0.1",
        port=args.port,
        server_hostname="smtp-sink.test",
        **options,
    )
    controller.start()
    print(f"smtp_sink listening on 127.0.0.1:{args.port}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
