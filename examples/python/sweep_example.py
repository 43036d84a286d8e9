"""Sweep learning rates with libneuralstyle from Python through ctypes: several rates as one batch (0.10).

    NEURALSTYLE_LIB=/path/to/libneuralstyle.so python3 examples/python/sweep_example.py CONTENT STYLE OUT_PREFIX [RATES]

Runs the rates (RATES, comma-separated; default 1,5,20) as one batch in rounds of a few iterations. After each round
it sets aside every rate whose lowest loss fell less than 1% over that round (ns_engine_get_rate_recent_gain), so the
others go on without paying for it; a rate that diverges stops by itself. Then it prints, for each rate, its lowest
loss and why it stopped, and writes its best image as OUT_PREFIX-lrRATE.ppm. Exits non-zero with the library's
message on any error.
"""
import ctypes
import sys

from neuralstyle_example import NS_PIXEL_RGB8, LossRecord, default_options, open_library, write_ppm


def main(content, style, prefix, rates=(1.0, 5.0, 20.0), size=32, rounds=3, iterations=4, plateau_percent=1.0):
    lib, check = open_library()
    options = default_options(lib, check, size)
    swept = (ctypes.c_double * len(rates))(*rates)
    options.learning_rates = swept  # copied by ns_engine_create
    options.learning_rate_count = len(rates)
    engine = ctypes.c_void_p()
    check(lib.ns_engine_create(ctypes.byref(options), ctypes.byref(engine)))
    try:
        check(lib.ns_engine_set_content_file(engine, content.encode()))
        check(lib.ns_engine_add_style_file(engine, style.encode(), ctypes.c_double(1.0)))
        reason = ctypes.create_string_buffer(128)

        def stop_reason(rate):
            check(lib.ns_engine_get_rate_stop_reason(engine, ctypes.c_double(rate), reason, len(reason), None))
            return reason.value.decode()

        for _ in range(rounds):
            check(lib.ns_engine_run(engine, iterations, None, None))  # NS_ERROR_DIVERGED only once every rate stopped
            for rate in rates:
                gain = ctypes.c_double()
                if stop_reason(rate) == "" and lib.ns_engine_get_rate_recent_gain(engine, ctypes.c_double(rate), iterations, ctypes.byref(gain)) == 0 \
                        and gain.value < plateau_percent:
                    check(lib.ns_engine_set_aside_rate(engine, ctypes.c_double(rate)))

        width, height = ctypes.c_int32(), ctypes.c_int32()
        check(lib.ns_engine_get_size(engine, ctypes.byref(width), ctypes.byref(height)))
        pixels = (ctypes.c_uint8 * (width.value * height.value * 3))()
        for rate in rates:
            count = ctypes.c_int32()
            check(lib.ns_engine_get_rate_loss_history(engine, ctypes.c_double(rate), None, 0, ctypes.byref(count)))
            history = (LossRecord * count.value)()
            check(lib.ns_engine_get_rate_loss_history(engine, ctypes.c_double(rate), history, count, None))
            lowest = min((row for row in history if row.total == row.total), key=lambda row: row.total)  # skip NaN
            best = ctypes.c_int32()
            check(lib.ns_engine_read_rate_best_image(engine, ctypes.c_double(rate), pixels, width, height, width.value * 3, NS_PIXEL_RGB8,
                                                     ctypes.byref(best)))
            out = f"{prefix}-lr{rate:g}.ppm"
            write_ppm(out, pixels, width.value, height.value)
            print(f"lr {rate:g}: lowest loss {lowest.total:.6g} at iteration {best.value} of {history[-1].iteration}, "
                  f"{stop_reason(rate) or 'running'}; wrote {out}")
    finally:
        lib.ns_engine_release(engine)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    try:
        main(*sys.argv[1:4], **({"rates": tuple(float(r) for r in sys.argv[4].split(","))} if len(sys.argv) == 5 else {}))
    except (RuntimeError, ValueError) as error:
        sys.exit(str(error))
