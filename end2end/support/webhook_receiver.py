"""A webhook receiver for the tests, checking deliveries with the Standard Webhooks reference library.

    python webhook_receiver.py serve --port 9000 --dir /tmp/hooks     # prints "ready" once it listens
    python webhook_receiver.py verify --dir /tmp/hooks --secret whsec_...   # prints one JSON line per delivery

`serve` answers every POST and writes the request (path, headers, body, answer) as one JSON file in --dir.
A path ending in /fail-N answers 503 to the first N requests of each webhook-id, then 200, so tests can see
retries carry the same id. `verify` checks every stored delivery with `standardwebhooks.Webhook(secret)`,
the library's own verification (signature and timestamp), and prints {"id", "type", "verified", "error"}.
"""

import argparse
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counter = Counter()
lock = threading.Lock()
sequence = [0]


def serve(port, directory):
    os.makedirs(directory, exist_ok=True)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8", "replace")
            hook_id = self.headers.get("webhook-id", "")
            failing = re.search(r"/fail-(\d+)$", self.path)
            with lock:
                counter[(self.path, hook_id)] += 1
                seen = counter[(self.path, hook_id)]
                sequence[0] += 1
                number = sequence[0]
            status = 503 if failing and seen <= int(failing.group(1)) else 200
            record = {
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body,
                "status": status,
                "received_at": time.time(),
            }
            name = os.path.join(directory, f"{number:06d}.json")
            with open(name + ".tmp", "w", encoding="utf-8") as out:
                json.dump(record, out)
            os.replace(name + ".tmp", name)
            answer = b'{"received": true}' if status == 200 else b'{"error": "try later"}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


def verify(directory, secret):
    from standardwebhooks.webhooks import Webhook

    hook = Webhook(secret)
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as stored:
            record = json.load(stored)
        headers = record["headers"]
        result = {"file": name, "id": headers.get("webhook-id"), "path": record["path"], "status": record["status"]}
        try:
            payload = hook.verify(record["body"], headers)
            result.update(verified=True, type=payload.get("type"), error=None)
        except Exception as err:  # the library raises its own WebhookVerificationError
            result.update(verified=False, type=None, error=str(err))
        print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    serving = commands.add_parser("serve")
    serving.add_argument("--port", type=int, required=True)
    serving.add_argument("--dir", required=True)
    checking = commands.add_parser("verify")
    checking.add_argument("--dir", required=True)
    checking.add_argument("--secret", required=True)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, args.dir)
    else:
        verify(args.dir, args.secret)


if __name__ == "__main__":
    sys.exit(main())
