"""DICOM peers for the network connector tests (pynetdicom).

scp: Storage SCPs on 127.0.0.1, one per --max-pdu value, each on a free port.
     Prints the ports (one line, space separated), then writes every dataset it
     receives, exactly as received, to OUT/<n>.dataset with a line in
     OUT/received.jsonl. Stops when its standard input closes.
scu: sends the given Part 10 files to 127.0.0.1:PORT in one association, each
     dataset streamed as it is in the file; exits non-zero if a store fails.
"""

import argparse
import json
import sys
import threading

from pydicom.filereader import dcmread
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, _config, evt


def run_scp(args):
    lock = threading.Lock()
    count = [0]

    def on_store(event):
        data = event.encoded_dataset(include_meta=False)
        with lock:
            count[0] += 1
            name = f"{count[0]}.dataset"
            with open(f"{args.out}/{name}", "wb") as f:
                f.write(data)
            record = {
                "file": name,
                "sop_instance_uid": str(event.request.AffectedSOPInstanceUID),
                "sop_class_uid": str(event.request.AffectedSOPClassUID),
                "transfer_syntax": str(event.context.transfer_syntax),
                "calling_ae": event.assoc.requestor.ae_title,
            }
            with open(f"{args.out}/received.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
        return 0x0000

    servers = []
    for max_pdu in args.max_pdu:
        ae = AE(ae_title="SAFECARE_SCP")
        ae.maximum_pdu_size = max_pdu
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        server = ae.start_server(
            ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
        )
        servers.append(server)
    print(" ".join(str(s.server_address[1]) for s in servers), flush=True)

    sys.stdin.read()
    for server in servers:
        server.shutdown()


def run_scu(args):
    _config.STORE_SEND_CHUNKED_DATASET = True
    ae = AE(ae_title=args.ae_title)
    metas = [dcmread(path, stop_before_pixels=True) for path in args.files]
    for meta in metas:
        ae.add_requested_context(
            meta.file_meta.MediaStorageSOPClassUID, [meta.file_meta.TransferSyntaxUID]
        )
    assoc = ae.associate("127.0.0.1", args.port, ae_title="SAFECARE_SCP")
    if not assoc.is_established:
        sys.exit(f"association to port {args.port} failed")
    failed = []
    for path in args.files:
        status = assoc.send_c_store(path)
        if not status or status.Status != 0x0000:
            failed.append(path)
    assoc.release()
    if failed:
        sys.exit(f"C-STORE failed for {failed}")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    scp = sub.add_parser("scp")
    scp.add_argument("--out", required=True)
    scp.add_argument("--max-pdu", type=int, action="append", required=True)
    scu = sub.add_parser("scu")
    scu.add_argument("--port", type=int, required=True)
    scu.add_argument("--ae-title", default="CT_SCANNER")
    scu.add_argument("files", nargs="+")
    args = parser.parse_args()
    run_scp(args) if args.mode == "scp" else run_scu(args)


if __name__ == "__main__":
    main()
