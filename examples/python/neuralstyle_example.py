"""Render with libneuralstyle from Python through ctypes (no third-party packages).

    NEURALSTYLE_LIB=/path/to/libneuralstyle.so python3 examples/python/neuralstyle_example.py CONTENT STYLE OUT.ppm [--original-colors]

Builds the engine from files, runs a few iterations with a progress callback, prints how far the loss fell (from
its history) and the iteration of its best image, reads the image into a buffer that Python owns (with --original-colors, in the content image's
colours, as the command line's option saves it), and writes it as a binary PPM. Exits non-zero with the library's
message on any error.
"""
import ctypes
import os
import sys

NS_OK, NS_PIXEL_RGB8, NS_DEVICE_CPU = 0, 3, 1


class Options(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("size", ctypes.c_int32),
        ("learning_rate", ctypes.c_double),
        ("content_weight", ctypes.c_double),
        ("style_weight", ctypes.c_double),
        ("tv_weight", ctypes.c_double),
        ("weights", ctypes.c_char_p),
        ("device", ctypes.c_int),
        ("precision", ctypes.c_int),
        ("style_scale", ctypes.c_double),     # 0.4
        ("max_megapixels", ctypes.c_double),  # 0.4
        ("learning_rates", ctypes.POINTER(ctypes.c_double)),  # 0.10: a sweep (sweep_example.py)
        ("learning_rate_count", ctypes.c_int32),              # 0.10
    ]


class LossRecord(ctypes.Structure):  # ns_loss_record, 0.7
    _fields_ = [
        ("iteration", ctypes.c_int32),
        ("total", ctypes.c_double),
        ("content", ctypes.c_double),
        ("style", ctypes.c_double),
        ("tv", ctypes.c_double),
        ("seconds", ctypes.c_double),
    ]


PROGRESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int32, ctypes.c_int32, ctypes.c_double, ctypes.c_void_p)


def open_library():
    """The library NEURALSTYLE_LIB names (else libneuralstyle.so on the loader's path), and a check of its statuses."""
    lib = ctypes.CDLL(os.environ.get("NEURALSTYLE_LIB", "libneuralstyle.so"))
    lib.ns_last_error.restype = ctypes.c_char_p
    lib.ns_version.restype = ctypes.c_uint32

    def check(status):
        if status != NS_OK:
            raise RuntimeError(f"libneuralstyle status {status}: {lib.ns_last_error().decode()}")

    return lib, check


def default_options(lib, check, size):
    """ns_options with the library's defaults, at `size` px, on the CPU with the random-feature weights."""
    options = Options()
    # The C header's ns_options_init is a macro that passes sizeof(ns_options); from ctypes, pass it ourselves.
    check(lib.ns_options_init_sized(ctypes.byref(options), ctypes.c_uint32(ctypes.sizeof(Options))))
    options.size = size
    options.weights = b"random:0"
    options.device = NS_DEVICE_CPU
    return options


def write_ppm(path, pixels, width, height):
    with open(path, "wb") as f:
        f.write(f"P6 {width} {height} 255\n".encode() + bytes(pixels))


def main(content, style, out, original_colors=False, size=48, iterations=5):
    lib, check = open_library()
    options = default_options(lib, check, size)
    options.style_scale = 1.0
    engine = ctypes.c_void_p()
    check(lib.ns_engine_create(ctypes.byref(options), ctypes.byref(engine)))
    try:
        check(lib.ns_engine_set_content_file(engine, content.encode()))
        check(lib.ns_engine_add_style_file(engine, style.encode(), ctypes.c_double(1.0)))

        @PROGRESS
        def progress(iteration, target, loss, _user):
            print(f"iteration {iteration}/{target} loss {loss:.4g}")
            return 0

        check(lib.ns_engine_run(engine, iterations, progress, None))
        # The loss history and the gain over it (0.7): what --plateau weighs to decide whether more iterations pay.
        count = ctypes.c_int32()
        check(lib.ns_engine_get_loss_history(engine, None, 0, ctypes.byref(count)))
        history = (LossRecord * count.value)()
        check(lib.ns_engine_get_loss_history(engine, history, count, None))
        first, last = history[0], history[-1]
        lowest = min(history, key=lambda row: row.total)
        gain = ctypes.c_double()
        check(lib.ns_engine_get_recent_gain(engine, last.iteration - first.iteration, ctypes.byref(gain)))
        print(f"loss {first.total:.6g} at iteration {first.iteration}, lowest {lowest.total:.6g} at iteration {lowest.iteration}: "
              f"fell {gain.value:.4f}% in {last.seconds:.2f} s")
        width, height = ctypes.c_int32(), ctypes.c_int32()
        check(lib.ns_engine_get_size(engine, ctypes.byref(width), ctypes.byref(height)))
        # The image of the lowest loss (0.8): what --keep-best saves, better than the last where the loss swings.
        best, best_iteration = (ctypes.c_uint8 * (width.value * height.value * 3))(), ctypes.c_int32()
        check(lib.ns_engine_read_best_image(engine, best, width, height, width.value * 3, NS_PIXEL_RGB8, ctypes.byref(best_iteration)))
        print(f"best image: iteration {best_iteration.value}")
        device = ctypes.create_string_buffer(256)
        check(lib.ns_engine_get_device(engine, device, len(device), None))
        print(f"device: {device.value.decode()}")
        pixels = (ctypes.c_uint8 * (width.value * height.value * 3))()
        read = lib.ns_engine_read_image_in_content_colors if original_colors else lib.ns_engine_read_image  # the first since 0.5
        check(read(engine, pixels, width, height, width.value * 3, NS_PIXEL_RGB8))
        write_ppm(out, pixels, width.value, height.value)
        print(f"wrote {out} ({width.value}x{height.value}), library version {lib.ns_version():#08x}")
    finally:
        lib.ns_engine_release(engine)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--original-colors"]
    if len(arguments) != 3:
        sys.exit(__doc__)
    try:
        main(*arguments, original_colors="--original-colors" in sys.argv[1:])
    except RuntimeError as error:
        sys.exit(str(error))
