"""A real SMTP server for the tests (aiosmtpd on a loopback port).

Every message accepted is written, decoded, as one JSON file in --dir: {"from", "to", "subject",
"message_id", "text", "html", "raw"}. Recipients at refused.invalid are answered 550, so that tests can see a
refusal recorded rather than retried. Prints "ready" once it listens; stops on SIGTERM or SIGINT.

    python smtp_sink.py --port 2525 --dir /tmp/mail
"""

import argparse
import asyncio
import email
import itertools
import json
import os
import signal
import time
from email import policy

from aiosmtpd.controller import Controller

counter = itertools.count()


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith("@refused.invalid"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        record = {
            "from": str(message["From"]),
            "to": envelope.rcpt_tos,
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        name = "%d-%06d.json" % (time.time_ns(), next(counter))
        partial = os.path.join(self.directory, "." + name)
        with open(partial, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.rename(partial, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Sink(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    controller.stop()


if __name__ == "__main__":
    main()
