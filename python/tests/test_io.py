"""caffe.io: image loading and resizing, oversampling, the Transformer, and
BlobProto/Datum conversions."""
import numpy as np
import pytest

import caffe
from conftest import CAT_JPG


def test_load_image_color_and_grey():
    color = caffe.io.load_image(CAT_JPG)
    grey = caffe.io.load_image(CAT_JPG, color=False)
    assert color.ndim == 3 and color.shape[2] == 3 and color.dtype == np.float32
    assert grey.shape == color.shape[:2] + (1,)
    assert 0.0 <= color.min() and color.max() <= 1.0 and color.max() > 0.5


def test_resize_image_bilinear_and_nearest():
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    same = caffe.io.resize_image(image, (4, 4))
    np.testing.assert_array_equal(same, image)
    small = caffe.io.resize_image(image, (2, 2))
    # Each output pixel is the mean of a 2x2 block under centre alignment.
    np.testing.assert_allclose(small[:, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    big = caffe.io.resize_image(image, (8, 8), interp_order=0)
    assert big.shape == (8, 8, 1)
    np.testing.assert_array_equal(big[::2, ::2, 0], image[:, :, 0])
    constant = caffe.io.resize_image(np.full((5, 7, 3), 0.25, np.float32), (11, 3))
    np.testing.assert_allclose(constant, 0.25)


def test_oversample_corners_centre_and_mirrors():
    image = np.random.RandomState(0).rand(6, 8, 2).astype(np.float32)
    crops = caffe.io.oversample([image, image * 2], (4, 4))
    assert crops.shape == (20, 4, 4, 2)
    np.testing.assert_array_equal(crops[0], image[:4, :4])          # top-left
    np.testing.assert_array_equal(crops[3], image[2:, 4:])          # bottom-right
    np.testing.assert_array_equal(crops[4], image[1:5, 2:6])        # centre
    np.testing.assert_array_equal(crops[5], image[:4, :4][:, ::-1])  # mirrored top-left
    np.testing.assert_array_equal(crops[10], image[:4, :4] * 2)


def test_transformer_preprocess_and_deprocess_round_trip():
    t = caffe.io.Transformer({'data': (1, 3, 4, 5)})
    t.set_transpose('data', (2, 0, 1))
    t.set_channel_swap('data', (2, 1, 0))
    t.set_raw_scale('data', 255)
    t.set_mean('data', np.array([10.0, 20.0, 30.0]))
    t.set_input_scale('data', 0.5)
    image = np.random.RandomState(1).rand(4, 5, 3).astype(np.float32)
    x = t.preprocess('data', image)
    assert x.shape == (3, 4, 5) and x.dtype == np.float32
    expected = (image.transpose(2, 0, 1)[[2, 1, 0]] * 255 - np.array([10, 20, 30])[:, None, None]) * 0.5
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(t.deprocess('data', x), image, rtol=1e-5, atol=1e-5)
    # Images of another size are resized to the blob's.
    assert t.preprocess('data', np.zeros((8, 10, 3))).shape == (3, 4, 5)


def test_transformer_rejects_bad_settings():
    t = caffe.io.Transformer({'data': (1, 3, 4, 5)})
    with pytest.raises(ValueError):
        t.set_mean('data', np.zeros(2))
    with pytest.raises(ValueError):
        t.set_mean('data', np.zeros((3, 2, 2)))
    with pytest.raises(ValueError):
        t.set_channel_swap('data', (1, 0))
    with pytest.raises(KeyError):
        t.set_raw_scale('label', 1)
    t.set_mean('data', np.ones((3, 4, 5)))  # a per-pixel mean of the right shape is fine


def test_blobproto_round_trip_and_legacy_shape():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    blob = caffe.io.array_to_blobproto(a, diff=-a)
    assert list(blob.shape.dim) == [2, 3, 4]
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(blob), a)
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(blob, return_diff=True), -a)
    legacy = caffe.proto.caffe_pb2.BlobProto(num=1, channels=2, height=1, width=3)
    legacy.data.extend(range(6))
    assert caffe.io.blobproto_to_array(legacy).shape == (1, 2, 1, 3)
    arrays = caffe.io.blobprotovector_str_to_arraylist(
        caffe.io.arraylist_to_blobprotovector_str([a, a[0]]))
    assert [x.shape for x in arrays] == [(2, 3, 4), (3, 4)]


def test_datum_round_trip_bytes_and_floats():
    pixels = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    datum = caffe.io.array_to_datum(pixels, label=7)
    assert (datum.channels, datum.height, datum.width, datum.label) == (1, 3, 4, 7)
    assert datum.data == pixels.tobytes()
    back = caffe.io.datum_to_array(datum)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, pixels)
    floats = caffe.io.array_to_datum(pixels.astype(np.float32) / 2)
    np.testing.assert_allclose(caffe.io.datum_to_array(floats), pixels / 2.0)
    with pytest.raises(ValueError):
        caffe.io.array_to_datum(np.zeros((2, 2)))


def test_datum_round_trips_through_serialized_bytes():
    rng = np.random.RandomState(5)
    pixels = rng.randint(0, 256, size=(3, 4, 5)).astype(np.uint8)
    datum = caffe.io.array_to_datum(pixels, 2)
    parsed = caffe.proto.caffe_pb2.Datum.FromString(datum.SerializeToString())
    assert (parsed.channels, parsed.height, parsed.width, parsed.label) == (3, 4, 5, 2)
    assert len(parsed.float_data) == 0
    np.testing.assert_array_equal(caffe.io.datum_to_array(parsed), pixels)
    # Floats (float32 values) come back exactly, as float like pycaffe's.
    values = rng.randn(2, 3, 3).astype(np.float32)
    parsed = caffe.proto.caffe_pb2.Datum.FromString(
        caffe.io.array_to_datum(values).SerializeToString())
    assert parsed.data == b'' and not parsed.HasField('label')
    back = caffe.io.datum_to_array(parsed)
    assert back.dtype == np.float64 and back.shape == (2, 3, 3)
    np.testing.assert_array_equal(back, values)
    # Non-uint8 integers are numbers, not bytes.
    ints = caffe.io.array_to_datum(np.arange(6, dtype=np.int32).reshape(1, 2, 3))
    assert ints.data == b'' and list(ints.float_data) == [0, 1, 2, 3, 4, 5]


def test_datum_to_array_reports_a_size_mismatch():
    datum = caffe.proto.caffe_pb2.Datum(channels=1, height=2, width=2, data=b'abc')
    with pytest.raises(ValueError, match='needs 4 data bytes, it has 3'):
        caffe.io.datum_to_array(datum)
    with pytest.raises(ValueError, match='needs 4 float_data values, it has 0'):
        caffe.io.datum_to_array(caffe.proto.caffe_pb2.Datum(channels=1, height=2, width=2))
