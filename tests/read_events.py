"""Reads a run's TensorBoard event files with TensorBoard's own reader and checks them against the run's
metrics.jsonl: every metric per epoch under train/ and test/ (float32 of the logged value), the step
loss, and the picture grids (decodable PNGs of the size TensorBoard was told). Prints one line; exits
non-zero on the first mismatch. Usage: read_events.py RUN"""
import json
import struct
import sys
import zlib

from tensorboard.backend.event_processing import event_accumulator


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    # Decompress the image data to be sure the PNG is whole.
    at, idat = 8, b""
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            idat += data[at + 8:at + 8 + length]
        at += 12 + length
    zlib.decompress(idat)
    return width, height


run = sys.argv[1]
events = event_accumulator.EventAccumulator(run, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0})
events.Reload()
tags = events.Tags()
checked = 0
for line in open(run + "/metrics.jsonl"):
    entry = json.loads(line)
    for name, value in entry.items():
        if name in ("epoch", "split") or not isinstance(value, (int, float)):
            continue
        tag = entry["split"] + "/" + name
        assert tag in tags["scalars"], "missing scalar %s (have %s)" % (tag, tags["scalars"])
        found = [s.value for s in events.Scalars(tag) if s.step == entry["epoch"]]
        assert found, "%s has no value at epoch %d" % (tag, entry["epoch"])
        expected = struct.unpack("f", struct.pack("f", value))[0]
        assert found[-1] == expected, "%s at epoch %d: %r, expected %r" % (tag, entry["epoch"], found[-1], expected)
        checked += 1
assert "step/loss" in tags["scalars"] and len(events.Scalars("step/loss")) >= 2, "no step losses"
images = 0
for tag in tags["images"]:
    for image in events.Images(tag):
        assert png_size(image.encoded_image_string) == (image.width, image.height), tag
        images += 1
assert images > 0, "no images"
print("tensorboard read %d epoch scalars, %d step losses and %d images of %s" % (
    checked, len(events.Scalars("step/loss")), images, run))
