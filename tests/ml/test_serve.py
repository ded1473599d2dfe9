"""The model server as a real process over HTTP, and the client against it.

The main server is started on an empty versions directory as the pipeline starts it before
anything is promoted; the test that promotes a second version to it runs last. A second server
batches in lockstep (see ``lockstep``), so that which requests shared a model call is known.
"""

from __future__ import annotations

import base64
import http.server
import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from mlflows.errors import Unavailable, UserError
from mlflows.ml import client, serve, versions
from mlflows.ml.datasets import digits
from mlflows.ml.predictor import UNDECODABLE, Predictor

NAME = "digits"


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def predict(url: str, body) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return post(client.predict_url(url, NAME), data)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def batch_counts(url: str) -> dict[str, float]:
    """The server's batcher counts (``batches``, ``requests``, ``images``) from ``/metrics``."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        lines = response.read().decode().splitlines()
    names = {metric + "_total": count for metric, count, _ in serve.BATCH_METRICS}
    found = {}
    for line in lines:
        name, _, value = line.partition(" ")
        if name in names:
            found[names[name]] = float(value)
    return found


def counted_since(url: str, before: dict[str, float]) -> dict[str, float]:
    return {name: value - before[name] for name, value in batch_counts(url).items()}


@pytest.fixture(scope="module")
def served(model_server, tmp_path_factory, trained, http_status, wait_for):
    """The server, first on an empty versions dir, then serving the trained cnn as version 1."""
    versions_dir = tmp_path_factory.mktemp("serving") / "versions"
    url, proc = model_server(versions_dir, NAME)
    ready_url = f"{url}/v1/models/{NAME}"
    before = http_status(ready_url)
    predicted_before = predict(url, {"instances": [np.zeros((28, 28, 1)).tolist()]})
    good = trained("cnn")[0]
    versions.promote(good, versions_dir, 0.9)
    wait_for(lambda: http_status(ready_url) == 200, "the first version to be served", proc)
    return SimpleNamespace(
        url=url,
        proc=proc,
        versions_dir=versions_dir,
        status_before=before,
        predicted_before=predicted_before,
    )


@pytest.fixture(scope="module")
def newest(served):
    """The in-process predictor of the version the server should be serving."""
    return Predictor(versions.newest(served.versions_dir))


@pytest.fixture(scope="module")
def examples(digits_dir):
    images, labels = digits.load(digits_dir, "test")
    return images[:24], labels[:24]


def test_not_ready_until_a_version_is_promoted_then_ready(served):
    assert served.status_before == 503
    assert served.predicted_before == (503, {"error": f"Model with name {NAME} is not ready."})
    with urllib.request.urlopen(f"{served.url}/v1/models/{NAME}", timeout=30) as response:
        assert json.loads(response.read()) == {"name": NAME, "ready": True}


def test_a_png_over_http_gets_the_class_in_process_predict_gives(served, newest, examples):
    images, labels = examples
    pngs = [client.encode_png(image) for image in images]

    status, answer = predict(served.url, {"instances": [{"b64": b64(png)} for png in pngs]})

    assert status == 200
    served_probabilities = np.array(answer["predictions"])
    in_process = newest.from_encoded(pngs)
    np.testing.assert_allclose(served_probabilities, in_process, atol=1e-5)
    # The encoded path decodes to the very pixels the raw path gets.
    np.testing.assert_allclose(in_process, newest.from_arrays(images / 255.0), atol=1e-5)
    classes = client.predict_classes(served.url, NAME, pngs[:8])
    assert classes == list(in_process[:8].argmax(axis=1))
    assert (served_probabilities.argmax(axis=1) == labels).mean() > 0.5  # the model works


@pytest.mark.parametrize("squeeze", [False, True], ids=["28x28x1", "28x28"])
def test_raw_arrays_are_served_too(served, newest, examples, squeeze):
    images = examples[0][:4] / 255.0
    instances = (images[..., 0] if squeeze else images).tolist()

    status, answer = predict(served.url, {"instances": instances})

    assert status == 200
    np.testing.assert_allclose(answer["predictions"], newest.from_arrays(images), atol=1e-5)


def test_the_v2_protocol_serves_tensors_and_encoded_images(served, newest, examples):
    images = examples[0][:3]
    v2 = f"{served.url}/v2/models/{NAME}/infer"
    fp32 = {"name": "image", "shape": [3, 28, 28, 1], "datatype": "FP32",
            "data": (images / 255.0).ravel().tolist()}  # fmt: skip
    files = {"name": "image_bytes", "shape": [3], "datatype": "BYTES",
             "data": [b64(client.encode_png(image)) for image in images]}  # fmt: skip
    expected = newest.from_arrays(images / 255.0)

    for tensor in (fp32, files):
        status, answer = post(v2, json.dumps({"inputs": [tensor]}).encode())
        assert status == 200, answer
        output = answer["outputs"][0]
        assert output["shape"] == [3, 10]
        np.testing.assert_allclose(np.reshape(output["data"], (3, 10)), expected, atol=1e-5)

    int8 = {**fp32, "datatype": "INT8", "data": [0] * (3 * 28 * 28)}
    status, answer = post(v2, json.dumps({"inputs": [int8]}).encode())
    assert status == 400 and "datatype" in answer["error"]


def test_raw_0_255_pixels_are_refused_in_both_protocols_naming_the_fix(served, examples):
    """The model's input is [0, 1]: 0-255 pixels would get a confident wrong answer."""
    pixels = examples[0][:2].astype(float)  # 0..255, as an image file holds them
    assert pixels.max() > 1
    v1 = {"instances": pixels.tolist()}
    v2 = {"inputs": [{"name": "image", "shape": [2, 28, 28, 1], "datatype": "FP32",
                      "data": pixels.ravel().tolist()}]}  # fmt: skip

    for url, body, where in [
        (client.predict_url(served.url, NAME), v1, "instances"),
        (f"{served.url}/v2/models/{NAME}/infer", v2, "inputs[0]"),
    ]:
        status, answer = post(url, json.dumps(body).encode())
        assert status == 400, answer
        assert answer["error"].startswith(f"{where}: values must be in [0, 1]")
        assert f"got 0 to {pixels.max():g}; divide 0-255 pixels by 255" in answer["error"]

    edges = [np.zeros((28, 28, 1)).tolist(), np.ones((28, 28, 1)).tolist()]
    status, answer = predict(served.url, {"instances": edges})
    assert status == 200 and len(answer["predictions"]) == 2


ZERO = [[[0.0]] * 28] * 28
MALFORMED = {
    "not json": b'{"instances": [',
    "not json, unlabelled": (b"\xff\xfe", "text/plain"),
    "a list, not an object": [ZERO],
    "no instances": {"inputs": [ZERO]},
    "instances not a list": {"instances": {"b64": ""}},
    "empty batch": {"instances": []},
    "wrong shape": {"instances": [[1.0, 2.0, 3.0]]},
    "ragged": {"instances": [ZERO, [[0.0]]]},
    "not numbers": {"instances": [[["a"] * 28] * 28]},
    "not base64": {"instances": [{"b64": "@@@"}]},
    "not an image": {"instances": [{"b64": b64(b"hello, not a PNG")}]},
    "extra keys": {"instances": [{"b64": b64(b"x"), "label": 3}]},
    "images mixed with arrays": {"instances": [{"b64": b64(b"x")}, ZERO]},
    "too many": {"instances": [ZERO] * 1025},
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_every_malformed_request_is_a_400_with_a_message(served, body):
    if isinstance(body, tuple):
        status, answer = post(client.predict_url(served.url, NAME), *body)
    else:
        status, answer = predict(served.url, body)
    assert status == 400
    assert isinstance(answer.get("error"), str) and answer["error"]


IMAGES_PER_REQUEST = [1, 2, 3, 1, 2, 3, 1, 2]  # of 8 concurrent requests, from 8 threads


def concurrent_requests(images: np.ndarray, arrays: bool = True) -> list[dict]:
    """One request per entry of IMAGES_PER_REQUEST, each of its own images: as PNG files, but
    with ``arrays`` odd ones as arrays, so one batch holds both kinds. The rows the model gives
    them are those of :func:`expected_rows` whatever the kind."""
    bodies = []
    for n, count in enumerate(IMAGES_PER_REQUEST):
        own = images[3 * n : 3 * n + count]
        if n % 2 == 0 or not arrays:
            bodies.append({"instances": [{"b64": b64(client.encode_png(i))} for i in own]})
        else:
            bodies.append({"instances": (own / 255.0).tolist()})
    return bodies


def expected_rows(predictor: Predictor, images: np.ndarray) -> list[np.ndarray]:
    """What ``predictor`` answers to each of :func:`concurrent_requests`, in-process."""
    rows = []
    for n, count in enumerate(IMAGES_PER_REQUEST):
        own = images[3 * n : 3 * n + count]
        if n % 2 == 0:
            rows.append(predictor.from_encoded([client.encode_png(i) for i in own]))
        else:
            rows.append(predictor.from_arrays(own / 255.0))
    return rows


def send_all(url: str, bodies: list[dict], pool: ThreadPoolExecutor) -> list[tuple[int, dict]]:
    """Each body from its own thread, all at once."""
    return list(pool.map(lambda body: predict(url, body), bodies))


def test_concurrent_requests_each_get_their_own_rows(served, newest, examples):
    bodies = concurrent_requests(examples[0])
    expected = expected_rows(newest, examples[0])
    before = batch_counts(served.url)

    with ThreadPoolExecutor(len(bodies)) as pool:
        rounds = [send_all(served.url, bodies, pool) for _ in range(10)]

    for answers in rounds:
        for (status, answer), rows in zip(answers, expected, strict=True):
            assert status == 200, answer
            np.testing.assert_allclose(answer["predictions"], rows, atol=1e-5)
    counted = counted_since(served.url, before)
    assert counted["requests"] == 10 * len(bodies)
    assert counted["images"] == 10 * sum(IMAGES_PER_REQUEST)


def test_a_cloudevent_is_answered_by_kserve_in_kind(served, newest, examples):
    """The predict route kserve's app no longer answers first still answers what it passes on."""
    images = examples[0][:2] / 255.0
    headers = {"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "1",
               "ce-source": "tests", "ce-type": "org.example.predict"}  # fmt: skip
    body = json.dumps({"instances": images.tolist()}).encode()
    request = urllib.request.Request(client.predict_url(served.url, NAME), body, headers)

    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        assert response.headers["ce-specversion"] == "1.0"  # kserve's answer as a CloudEvent
        answer = json.loads(response.read())
    np.testing.assert_allclose(answer["predictions"], newest.from_arrays(images), atol=1e-5)


FP32 = {"name": "image", "datatype": "FP32"}
FILES = {"name": "image_bytes", "datatype": "BYTES"}
MALFORMED_V2 = {
    "empty batch": {**FP32, "shape": [0, 28, 28, 1], "data": []},
    "a scalar": {**FP32, "shape": [], "data": [0.5]},
    "wrong shape": {**FP32, "shape": [1, 3], "data": [0.0, 0.5, 1.0]},
    "not finite": {**FP32, "shape": [1, 28, 28], "data": [float("nan")] * 784},
    "below 0": {**FP32, "shape": [1, 28, 28], "data": [-0.5] * 784},
    "too many": {**FP32, "shape": [1025, 1], "data": [0.0] * 1025},
    "no files": {**FILES, "shape": [0], "data": []},
    "not base64": {**FILES, "shape": [1], "data": ["@@@"]},
    "not an image": {**FILES, "shape": [1], "data": [b64(b"hello, not a PNG")]},
}


@pytest.mark.parametrize("tensor", MALFORMED_V2.values(), ids=MALFORMED_V2.keys())
def test_every_malformed_v2_request_is_a_400_naming_the_input(served, tensor):
    v2 = f"{served.url}/v2/models/{NAME}/infer"
    status, answer = post(v2, json.dumps({"inputs": [tensor]}).encode())
    assert status == 400 and answer["error"].startswith("inputs[0]"), answer


def test_the_client_cli_prints_the_predicted_class(
    served, newest, examples, digits_dir, tmp_path, cli
):
    png = tmp_path / "digit.png"
    png.write_bytes(client.encode_png(examples[0][5]))
    expected = int(newest.from_encoded([png.read_bytes()]).argmax())

    server = ["--url", served.url, "--model-name", NAME]
    code, out, _ = cli(client.main, [*server, "--image", str(png)])
    assert code == 0 and out == f"predicted class {expected}\n"

    dataset = ["--dataset", "digits", "--data-dir", str(digits_dir), "--index", "5"]
    code, out, _ = cli(client.main, [*server, *dataset])
    label = examples[1][5]
    assert code == 0
    assert out == f"predicted class {expected} ({expected}); label {label} ({label})\n"


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--model-name", "nope", "--image", "{png}"], "404"),
        (["--model-name", NAME, "--image", "{missing}"], "--image"),
        (["--model-name", NAME, "--dataset", "digits"], "--data-dir"),
        (
            [
                "--model-name",
                NAME,
                "--dataset",
                "digits",
                "--data-dir",
                "{data}",
                "--index",
                "9999",
            ],
            "--index",
        ),  # fmt: skip
    ],
)
def test_client_mistakes_are_one_error_line(served, digits_dir, tmp_path, cli, argv, field):
    png = tmp_path / "digit.png"
    png.write_bytes(client.encode_png(np.zeros((28, 28, 1), np.uint8)))
    paths = {"png": png, "missing": tmp_path / "missing.png", "data": digits_dir}
    argv = [arg.format(**paths) for arg in argv]

    code, _, err = cli(client.main, ["--url", served.url, *argv])
    assert code == UserError.exit_code and err.count("\n") == 1 and field in err


def test_an_unreachable_server_is_one_error_line(cli, free_port, tmp_path):
    png = tmp_path / "digit.png"
    png.write_bytes(b"anything")
    argv = ["--url", f"http://127.0.0.1:{free_port()}", "--model-name", NAME, "--image", str(png)]
    code, _, err = cli(client.main, argv)
    assert code == Unavailable.exit_code and "cannot reach" in err  # may pass: not a usage error


@pytest.mark.parametrize("url", ["notaurl", "localhost:8080", "ftp://host/", "http://"])
def test_a_url_that_is_not_http_is_one_error_line(cli, url):
    code, _, err = cli(client.main, ["--url", url, "--model-name", NAME, "--image", "x.png"])
    assert code == UserError.exit_code and err.startswith("error: --url: ")
    assert err.count("\n") == 1


class NotAModelServer(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the handler's name)
        body = b"<html>\n<p>a web page</p>\n</html>\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class NotReady(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the handler's name)
        self.send_error(503, "no model loaded yet")

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_ready_is_unavailable_not_a_usage_error(cli, tmp_path):
    png = tmp_path / "digit.png"
    png.write_bytes(b"anything")
    server = http.server.HTTPServer(("127.0.0.1", 0), NotReady)
    threading.Thread(target=server.handle_request, daemon=True).start()
    argv = ["--url", f"http://127.0.0.1:{server.server_address[1]}", "--model-name", NAME]
    try:
        code, _, err = cli(client.main, [*argv, "--image", str(png)])
    finally:
        server.server_close()
    assert code == Unavailable.exit_code and "answered 503" in err and err.count("\n") == 1


@pytest.mark.parametrize("kind", ["web page", "not http"])
def test_a_server_that_answers_no_prediction_is_one_error_line(cli, tmp_path, kind):
    png = tmp_path / "digit.png"
    png.write_bytes(b"anything")
    if kind == "web page":
        server = http.server.HTTPServer(("127.0.0.1", 0), NotAModelServer)
        threading.Thread(target=server.handle_request, daemon=True).start()
        port, expected = server.server_address[1], "unexpected answer"
    else:  # answers with a line that is not HTTP, as an SSH server does
        server = socket.create_server(("127.0.0.1", 0))

        def greet():
            connection, _ = server.accept()
            with connection, connection.makefile("rb") as request:
                # The whole request first: closing with bytes unread would reset the connection,
                # and the client would see a reset (an outage) instead of a wrong answer.
                length = 0
                for line in iter(request.readline, b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request.read(length)
                connection.sendall(b"SSH-2.0-OpenSSH\r\n")

        threading.Thread(target=greet, daemon=True).start()
        port, expected = server.getsockname()[1], "cannot reach"
    argv = ["--url", f"http://127.0.0.1:{port}", "--model-name", NAME, "--image", str(png)]
    try:
        code, _, err = cli(client.main, argv)
    finally:
        server.server_close() if kind == "web page" else server.close()
    assert code == UserError.exit_code and expected in err and err.count("\n") == 1


def test_what_to_serve_is_the_model_itself_or_the_newest_version(tmp_path, trained):
    good = trained("cnn")[0]
    assert serve.newest_model(good) == good
    assert serve.newest_model(tmp_path / "nothing-yet") is None
    for n in (3, 12):
        versions.promote(good, tmp_path / "versions", 0.9)
        (tmp_path / "versions" / str(n)).mkdir()  # higher numbers, published otherwise
    assert serve.newest_model(tmp_path / "versions") == tmp_path / "versions" / "12"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--port", "70000"], "--port"),
        (["--model-dir", "{file}"], "--model-dir"),
        (["--max-batch-size", "0"], "--max-batch-size"),
        (["--max-batch-wait-ms", "-1"], "--max-batch-wait-ms"),
        (["--intra-op-threads", "two"], "--intra-op-threads"),
    ],
)
def test_server_flag_mistakes_are_one_error_line(tmp_path, cli, extra, field):
    (tmp_path / "file").write_text("not a directory")
    extra = [arg.format(file=tmp_path / "file") for arg in extra]
    code, _, err = cli(serve.main, ["--model-dir", str(tmp_path), *extra])
    assert code == UserError.exit_code and field in err and err.count("\n") == 1


def test_a_busy_port_is_reported_before_anything_loads(tmp_path, cli):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = cli(serve.main, ["--model-dir", str(tmp_path), "--port", str(port)])
    assert code == UserError.exit_code and f"--port: cannot listen on 127.0.0.1:{port}" in err


def test_jpeg_rgb_and_larger_images_are_decoded_to_the_same_digit(trained, examples):
    import io

    from PIL import Image

    predictor = Predictor(trained("cnn")[0])
    images = examples[0][:20, :, :, 0]

    def encoded(transform, fmt="PNG") -> list[bytes]:
        files = []
        for image in images:
            buffer = io.BytesIO()
            transform(Image.fromarray(image)).save(buffer, format=fmt)
            files.append(buffer.getvalue())
        return files

    reference = predictor.from_encoded(encoded(lambda im: im)).argmax(axis=1)
    rgb = predictor.from_encoded(encoded(lambda im: im.convert("RGB"))).argmax(axis=1)
    # Doubled by repeating pixels: the bilinear resize back to 28x28 averages the copies.
    doubled = encoded(lambda im: im.resize((56, 56), Image.NEAREST))
    jpeg = encoded(lambda im: im, fmt="JPEG")

    assert (rgb == reference).mean() >= 0.9
    assert np.array_equal(predictor.from_encoded(doubled).argmax(axis=1), reference)
    assert (predictor.from_encoded(jpeg).argmax(axis=1) == reference).mean() >= 0.8


ROUND_IMAGES = sum(IMAGES_PER_REQUEST)


@pytest.fixture(scope="module")
def lockstep(model_server, tmp_path_factory, trained, http_status, wait_for):
    """A server serving the trained cnn whose batch is exactly one round of
    :func:`concurrent_requests`: it waits (up to 30 s) until the round's ROUND_IMAGES images are
    all there, and a round's requests are only sent once the last round is answered."""
    versions_dir = tmp_path_factory.mktemp("lockstep") / "versions"
    versions.promote(trained("cnn")[0], versions_dir, 0.9)
    flags = ["--max-batch-size", str(ROUND_IMAGES), "--max-batch-wait-ms", "30000"]
    url, proc = model_server(versions_dir, NAME, *flags, "--poll-seconds", "0.05")
    wait_for(lambda: http_status(f"{url}/v1/models/{NAME}") == 200, "the model to load", proc)
    return SimpleNamespace(url=url, proc=proc, versions_dir=versions_dir)


@pytest.mark.parametrize("arrays", [True, False], ids=["files and arrays", "files only"])
def test_an_image_that_will_not_decode_fails_its_request_alone(lockstep, trained, examples, arrays):
    bodies = concurrent_requests(examples[0], arrays)
    bodies[2]["instances"][1] = {"b64": b64(b"\x89PNG, but not really")}
    expected = expected_rows(Predictor(trained("cnn")[0]), examples[0])
    before = batch_counts(lockstep.url)

    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = send_all(lockstep.url, bodies, pool)

    status, answer = answers.pop(2)
    assert status == 400
    assert answer["error"] == f"instances[1].b64: {UNDECODABLE}"  # the file, named
    del expected[2]
    for (status, answer), rows in zip(answers, expected, strict=True):
        assert status == 200, answer
        np.testing.assert_allclose(answer["predictions"], rows, atol=1e-5)
    # The bad request shared the batch: the others were answered by one model call.
    assert counted_since(lockstep.url, before) == {
        "batches": 1,
        "requests": len(bodies) - 1,
        "images": ROUND_IMAGES - IMAGES_PER_REQUEST[2],
    }


def test_a_request_larger_than_a_batch_is_a_batch_of_its_own(lockstep, trained, examples):
    images = examples[0] / 255.0
    assert len(images) > ROUND_IMAGES
    before = batch_counts(lockstep.url)

    status, answer = predict(lockstep.url, {"instances": images.tolist()})

    assert status == 200
    expected = Predictor(trained("cnn")[0]).from_arrays(images)
    np.testing.assert_allclose(answer["predictions"], expected, atol=1e-5)
    assert counted_since(lockstep.url, before) == {
        "batches": 1,
        "requests": 1,
        "images": len(images),
    }


def test_a_version_swap_during_a_burst_switches_once_and_never_mixes(
    lockstep, untrained_model, examples
):
    """Rounds of 8 concurrent requests while version 2 is promoted: every answer is one of the
    two models' for its own images, a round (one batch) is answered by one version, and once
    version 2 has answered, version 1 never answers again."""
    bodies = concurrent_requests(examples[0])
    models = {
        "v1": expected_rows(Predictor(versions.newest(lockstep.versions_dir)), examples[0]),
        "v2": expected_rows(Predictor(untrained_model), examples[0]),
    }

    def version(status: int, answer: dict, n: int) -> str:
        assert status == 200, answer  # no 5xx, nor any other failure, during the swap
        matching = [
            name
            for name, rows in models.items()
            if np.allclose(answer["predictions"], rows[n], atol=1e-5)
        ]
        assert len(matching) == 1, f"request {n} got an answer neither model gives it"
        return matching[0]

    before = batch_counts(lockstep.url)
    answered_by: list[set[str]] = []  # per round
    with ThreadPoolExecutor(len(bodies)) as pool:
        for n in range(1000):  # a bound: the swap takes a few hundred rounds at most
            if n == 3:
                versions.promote(untrained_model, lockstep.versions_dir, 0.1)
            answers = send_all(lockstep.url, bodies, pool)
            answered_by.append({version(*answer, i) for i, answer in enumerate(answers)})
            if answered_by[-10:] == [{"v2"}] * 10:
                break

    assert all(len(names) == 1 for names in answered_by), "a batch mixed the two versions"
    sequence = [names.pop() for names in answered_by]
    assert "v2" in sequence, f"version 2 was not served within {len(sequence)} rounds"
    switch = sequence.index("v2")
    assert switch >= 3 and sequence == ["v1"] * switch + ["v2"] * (len(sequence) - switch)
    counted = counted_since(lockstep.url, before)
    assert counted["batches"] == len(sequence)  # a round was one batch: one model call
    assert counted["requests"] == len(sequence) * len(bodies)


def test_a_newer_version_is_picked_up_without_a_restart(
    served, untrained_model, wait_for, examples
):
    images = examples[0][:4] / 255.0
    instances = {"instances": images.tolist()}
    before = np.array(predict(served.url, instances)[1]["predictions"])
    promoted = versions.promote(untrained_model, served.versions_dir, 0.1)
    expected = Predictor(promoted).from_arrays(images)
    assert not np.allclose(before, expected, atol=1e-3)  # the two models do differ

    def serving_the_new_one():
        status, answer = predict(served.url, instances)
        return status == 200 and np.allclose(answer["predictions"], expected, atol=1e-5)

    wait_for(serving_the_new_one, "the server to switch to the new version", served.proc)
    assert served.proc.poll() is None


def test_a_pinned_model_that_cannot_load_exits_with_one_line(tmp_path):
    """A revision's model (a SavedModel folder, not a versions folder) that does not load never
    will: the server exits as a crashing predictor does, instead of waiting to be timed out."""
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "saved_model.pb").write_text("not a model")
    done = subprocess.run(
        [sys.executable, "-m", "mlflows.ml.serve", "--model-dir", str(broken), "--port", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: --model-dir: not serving {broken}")
