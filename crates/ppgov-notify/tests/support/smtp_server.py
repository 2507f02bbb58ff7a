#!/usr/bin/env python3
"""A real SMTP server for ppgov-notify's tests, on aiosmtpd.

Listens on 127.0.0.1 on a free port, offers STARTTLS with the given certificate and demands it
(and AUTH PLAIN/LOGIN, only after TLS) before any mail. Each accepted message is written to the
output directory as NNNN.json (envelope, whether TLS and which login, the raw message, and its
subject, from, to and decoded text and HTML parts as Python's email package reads them), through a
temporary file and a rename, so a reader never sees half a message. Prints "READY <port>" on
stdout once listening; "AUTH-FAILED <login>" for every refused login. Runs until stdin closes
(the test holds the pipe), so no server outlives its test.

Usage: smtp_server.py --cert CERT.pem --key KEY.pem --out DIR --user USER --password PASSWORD
Exit 3 with "MISSING aiosmtpd" when the package is not installed.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    print("MISSING aiosmtpd (install it: python3 -m pip install aiosmtpd)", flush=True)
    sys.exit(3)


class Recorder:
    """Keeps every accepted message as a file."""

    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": session.ssl is not None,
            "login": getattr(session, "ppgov_login", None),
            "data": envelope.content.decode("utf-8", errors="replace"),
        }
        # Decoded by the standard library, so the test checks what a mail client would show.
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record.update(
            {
                "content_type": msg.get_content_type(),
                "subject": str(msg["subject"]),
                "from": str(msg["from"]),
                "to": str(msg["to"]),
                "text": plain.get_content() if plain is not None else None,
                "html": html.get_content() if html is not None else None,
            }
        )
        final = os.path.join(self.out, "%04d.json" % self.count)
        tmp = final + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, final)
        return "250 OK message accepted"


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        ):
            session.ppgov_login = auth_data.login.decode()
            return AuthResult(success=True)
        login = auth_data.login.decode(errors="replace") if isinstance(auth_data, LoginPassword) else "?"
        print("AUTH-FAILED %s" % login, flush=True)
        return AuthResult(success=False, handled=False)

    return authenticate


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    a = p.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    recorder = Recorder(a.out)
    authenticate = authenticator_for(a.user, a.password)

    def factory():
        return SMTP(
            recorder,
            hostname="ppgov-test-smtp",
            tls_context=ctx,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticate,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    # Serve until the test closes our stdin (or dies, which closes it too).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
