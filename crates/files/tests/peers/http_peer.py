"""HTTP peers for the network connector tests (Python standard library).

serve: serves ROOT on 127.0.0.1 (a free port, printed on one line) with
       http.server; paths under /chunked/ are sent with chunked transfer coding
       over HTTP/1.1, paths under /gzip/ with Content-Encoding: gzip. Stops
       when its standard input closes.
fetch: downloads each URL with urllib and checks it arrived whole.
"""

import argparse
import functools
import gzip
import http.server
import os
import sys
import threading
import urllib.request


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/gzip/"):
            return self.send_gzipped()
        if not self.path.startswith("/chunked/"):
            return super().do_GET()
        path = os.path.join(self.directory, self.path[len("/chunked/"):])
        with open(path, "rb") as f:
            body = f.read()
        self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for start in range(0, len(body), 1000):
            piece = body[start:start + 1000]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def send_gzipped(self):
        path = os.path.join(self.directory, self.path[len("/gzip/"):])
        with open(path, "rb") as f:
            body = gzip.compress(f.read())
        self.send_response(200)
        self.send_header("Content-Type", "application/dicom")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(args):
    handler = functools.partial(Handler, directory=args.root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


def fetch(args):
    for url in args.urls:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
        if not body:
            sys.exit(f"{url}: empty body")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("root")
    f = sub.add_parser("fetch")
    f.add_argument("urls", nargs="+")
    args = parser.parse_args()
    serve(args) if args.mode == "serve" else fetch(args)


if __name__ == "__main__":
    main()
