#!/usr/bin/env python3
"""A capturing SMTP server for Ferry's mail tests (aiosmtpd), started by scripts/peers.

Every accepted message is kept as one file in a Maildir (`DIR/new/...`; aiosmtpd's Mailbox
handler, which adds X-MailFrom and X-RcptTo headers). Recipients in two magic domains get fixed
answers, so tests can provoke the server's refusals for real:

  anything@reject.invalid  ->  550 5.1.1 (permanent)
  anything@defer.invalid   ->  451 4.3.0 (transient)

With --tls-cert/--tls-key the server offers STARTTLS and requires it before MAIL FROM.

  smtp-peer.py --listen 127.0.0.1:2525 --maildir DIR [--tls-cert CRT --tls-key KEY]
"""

import argparse
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class CapturingMailbox(Mailbox):
    """aiosmtpd's Maildir handler, refusing the magic recipient domains."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rpartition("@")[2].lower()
        if domain == "reject.invalid":
            return f"550 5.1.1 <{address}>: recipient rejected by the Ferry test server"
        if domain == "defer.invalid":
            return f"451 4.3.0 <{address}>: try again later (Ferry test server)"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    controller = Controller(
        CapturingMailbox(args.maildir),
        hostname=host,
        port=int(port),
        tls_context=tls,
        require_starttls=tls is not None,
    )
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    print(f"listening on {host}:{port}, maildir {args.maildir}, starttls {tls is not None}", flush=True)
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    main()
