"""Small dataset files served over HTTP from 127.0.0.1, and a dataset registry that points at
them: what tests/test_datasets_*.py download instead of the real MNIST and CIFAR-10.

``serve()`` starts an ``http.server`` on a free loopback port in a thread; the server records
every GET, answers 404 for unknown paths and, for paths in ``truncate``, announces the full
length and closes the connection halfway through. For paths in ``hold`` it sends the first half,
then waits until that path's event is set (at most 60 s) before it sends the rest: a download
caught in the middle.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import socket
import struct
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

N_TRAIN, N_TEST = 60, 20
CIFAR_TRAIN, CIFAR_TEST = 12, 5


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


class Server:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.hold: dict[str, threading.Event] = {}
        self.requests: list[str] = []
        files, truncate, requests, hold = self.files, self.truncate, self.requests, self.hold

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                gate = hold.get(self.path)
                if gate is not None:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    gate.wait(60)
                    body = body[len(body) // 2:]
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def gets(self, prefix: str = "/") -> list[str]:
        return [p for p in self.requests if p.startswith(prefix)]


@contextlib.contextmanager
def serve():
    server = Server()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join()


def closed_port_url(path: str = "/x.gz") -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


# -- the fixtures' content -------------------------------------------------------------------------

def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 images whose pixel (0, 0) is their index, labels ``index % 10``."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    x[:, 0, 0] = np.arange(n)
    return x, (np.arange(n) % 10).astype(np.uint8)


def idx_bytes(arr: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes, gzip-compressed (as MNIST is distributed)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return gzip.compress(header + arr.astype(np.uint8).tobytes(), mtime=0)


def npz_bytes(x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x_train=x, y_train=y, x_test=xt, y_test=yt)
    return buf.getvalue()


def cifar_records(n: int, seed: int) -> bytes:
    """``n`` CIFAR binary records: label ``i % 10`` then 3072 pixels, the first one ``i``."""
    rng = np.random.default_rng(seed)
    rec = rng.integers(0, 256, size=(n, 3073), dtype=np.uint8)
    rec[:, 0] = np.arange(n) % 10
    rec[:, 1] = np.arange(n)
    return rec.tobytes()


def tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish(server: Server) -> dict:
    """Put the fixtures on ``server`` and return a registry (as a dict) that lists them."""
    x, y = digits(N_TRAIN, 1)
    xt, yt = digits(N_TEST, 2)
    mnist = {"train_images": ("train-images-idx3-ubyte.gz", idx_bytes(x)),
             "train_labels": ("train-labels-idx1-ubyte.gz", idx_bytes(y)),
             "test_images": ("t10k-images-idx3-ubyte.gz", idx_bytes(xt)),
             "test_labels": ("t10k-labels-idx1-ubyte.gz", idx_bytes(yt))}
    fashion = npz_bytes(x[:30], y[:30], xt[:10], yt[:10])
    train = [cifar_records(CIFAR_TRAIN // 2, s) for s in (3, 4)]
    test = cifar_records(CIFAR_TEST, 5)
    members = {"cifar-10-batches-bin/data_batch_1.bin": train[0],
               "cifar-10-batches-bin/data_batch_2.bin": train[1],
               "cifar-10-batches-bin/test_batch.bin": test,
               "cifar-10-batches-bin/batches.meta.txt": b"airplane\n"}
    archive = tar_gz(members)

    def remote(path: str, data: bytes, filename: str) -> dict:
        server.files[path] = data
        return {"filename": filename, "size": len(data), "sha256": sha256(data),
                "urls": [server.url(path)]}

    def member(name: str) -> dict:
        return {"path": name, "size": len(members[name]), "sha256": sha256(members[name])}

    return {
        "mnist": {
            "title": "MNIST", "format": "idx", "image_shape": [28, 28],
            "val_fraction": 1 / 6, "classes": [str(c) for c in range(10)],
            "files": {key: remote(f"/mnist/{fn}", data, fn) for key, (fn, data) in mnist.items()},
        },
        "fashion_mnist": {
            "title": "Fashion-MNIST", "format": "npz",
            "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                        "Sneaker", "Bag", "Ankle boot"],
            "files": {"data": remote("/fashion/fashion.npz", fashion, "fashion.npz")},
        },
        "cifar10": {
            "title": "CIFAR-10", "format": "cifar10_binary",
            "classes": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                        "ship", "truck"],
            "files": {"archive": remote("/cifar/cifar-10-binary.tar.gz", archive,
                                        "cifar-10-binary.tar.gz")},
            "members": {"train": [member("cifar-10-batches-bin/data_batch_1.bin"),
                                  member("cifar-10-batches-bin/data_batch_2.bin")],
                        "test": [member("cifar-10-batches-bin/test_batch.bin")]},
        },
    }


def write_registry(path: Path, registry: dict) -> Path:
    path.write_text(json.dumps(registry, indent=1), encoding="utf-8")
    return path


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative names, sorted); [] when it does not exist."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
