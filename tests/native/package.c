/* A program built the way a C or C++ project outside this repository builds against a published libneuralstyle: with
 * CMake (find_package(NeuralStyle), target NeuralStyle::neuralstyle) or with pkg-config (neuralstyle), the header and
 * the library found through the published folder's own descriptions. It checks that the header and the library
 * agree on the version and runs two iterations, so that ONNX Runtime is found beside the library too, wherever the
 * program itself lies. Prints "package: ok VERSION". */
#include "neuralstyle.h"

#include <stdio.h>
#include <stdlib.h>

enum { WIDTH = 24, HEIGHT = 16 };

static int fail(const char* call)
{
    fprintf(stderr, "package: %s failed: %s\n", call, ns_last_error());
    return 1;
}

int main(void)
{
    if (ns_version() != NS_VERSION) {
        fprintf(stderr, "package: the header is version %#x, the library %#x\n", (unsigned)NS_VERSION, (unsigned)ns_version());
        return 1;
    }

    static uint8_t content[HEIGHT][WIDTH][3], style[HEIGHT][HEIGHT][3], result[HEIGHT][WIDTH][3];
    for (int y = 0; y < HEIGHT; y++) {
        for (int x = 0; x < WIDTH; x++) {
            content[y][x][0] = (uint8_t)(10 * x);
            content[y][x][1] = (uint8_t)(15 * y);
            content[y][x][2] = 128;
            if (x < HEIGHT) {
                style[y][x][0] = style[y][x][1] = style[y][x][2] = ((x / 4 + y / 4) % 2) ? 230 : 20;
            }
        }
    }

    ns_options options;
    if (ns_options_init(&options) != NS_OK) return fail("ns_options_init");
    options.size = 0;
    options.weights = "random:0";
    options.device = NS_DEVICE_CPU;
    ns_engine* engine = NULL;
    if (ns_engine_create(&options, &engine) != NS_OK) return fail("ns_engine_create");
    int failed = ns_engine_set_content(engine, &content[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8) != NS_OK ? fail("ns_engine_set_content")
               : ns_engine_add_style(engine, &style[0][0][0], HEIGHT, HEIGHT, HEIGHT * 3, NS_PIXEL_RGB8, 1.0) != NS_OK ? fail("ns_engine_add_style")
               : ns_engine_run(engine, 2, NULL, NULL) != NS_OK ? fail("ns_engine_run")
               : ns_engine_read_image(engine, &result[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8) != NS_OK ? fail("ns_engine_read_image")
               : 0;
    ns_engine_release(engine);
    if (failed) return 1;

    printf("package: ok %d.%d.%d\n", NS_VERSION_MAJOR, NS_VERSION_MINOR, NS_VERSION_PATCH);
    return 0;
}
