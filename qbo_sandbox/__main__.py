"""``python -m qbo_sandbox``: serve a sandbox until Ctrl-C."""

import argparse
import signal
import sys
import threading

from . import Limits, SandboxServer
from .webhooks import FORMATS


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m qbo_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--company", help="company JSON file (default: the shipped demo company)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="sandbox seconds per real second (60: a minute of limits per second)",
    )
    parser.add_argument("--client-id", help="accept only this client id (default: any)")
    parser.add_argument("--client-secret", help="accept only this client secret (default: any)")
    parser.add_argument("--access-token-lifetime", type=int, default=3600, help="sandbox seconds")
    parser.add_argument(
        "--refresh-token-lifetime", type=int, default=100 * 86400, help="sandbox seconds"
    )
    parser.add_argument("--requests-per-minute", type=int, default=500)
    parser.add_argument("--batch-per-minute", type=int, default=40)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--batch-max-items", type=int, default=30)
    parser.add_argument("--requests-per-second", type=int, default=10)
    parser.add_argument(
        "--realm-batch-per-minute",
        type=int,
        default=120,
        help="batch requests a minute per realm, shared by every app on it",
    )
    parser.add_argument("--webhook-url", help="POST change notifications here (default: off)")
    parser.add_argument("--webhook-verifier-token", help="signs webhook deliveries")
    parser.add_argument("--webhook-format", choices=FORMATS, default="cloudevents")
    parser.add_argument(
        "--hold-seconds",
        type=float,
        default=30.0,
        help="how long a 'timeout' injection holds a request (real seconds)",
    )
    args = parser.parse_args(argv)
    if args.webhook_url and not args.webhook_verifier_token:
        parser.error("--webhook-url needs --webhook-verifier-token (deliveries are signed)")
    return args


def _limits(args):
    return Limits(
        requests_per_minute=args.requests_per_minute,
        batch_per_minute=args.batch_per_minute,
        concurrent=args.concurrent,
        batch_max_items=args.batch_max_items,
        requests_per_second=args.requests_per_second,
        realm_batch_per_minute=args.realm_batch_per_minute,
    )


def _start(args):
    server = SandboxServer(
        company=args.company,
        limits=_limits(args),
        time_scale=args.time_scale,
        client_id=args.client_id,
        client_secret=args.client_secret,
        access_token_lifetime=args.access_token_lifetime,
        refresh_token_lifetime=args.refresh_token_lifetime,
        host=args.host,
        port=args.port,
        hold_seconds=args.hold_seconds,
    ).start()
    if args.webhook_url:
        server.set_webhook(args.webhook_url, args.webhook_verifier_token, args.webhook_format)
    return server


def main(argv=None):
    server = _start(_arguments(argv))
    print(f"QBO sandbox listening on {server.base_url}", flush=True)
    print(f"realm id: {server.realm_id}", flush=True)
    print(f"discovery: {server.base_url}/.well-known/openid_configuration", flush=True)
    print(f"API base: {server.base_url}/v3  (admin: {server.base_url}/_sandbox/...)", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
