/* A program built the way a C or C++ project outside this repository builds against a published libneuralstyle: with
 * CMake (find_package(NeuralStyle), target NeuralStyle::neuralstyle) or with pkg-config (neuralstyle), the header and
 * the library found through the published folder's own descriptions. Usage: package CONTENT STYLE. It checks that the
 * header and the library agree on the version and renders the two files at 32 px in two iterations, so that ONNX
 * Runtime is found beside the library too, wherever the program itself lies. Prints "package: ok VERSION WxH". */
#include "neuralstyle.h"

#include <stdio.h>
#include <stdlib.h>

static int fail(const char* call)
{
    fprintf(stderr, "package: %s failed: %s\n", call, ns_last_error());
    return 1;
}

static int render(ns_engine* engine, const char* content, const char* style)
{
    int32_t width = 0, height = 0;
    if (ns_engine_set_content_file(engine, content) != NS_OK) return fail("ns_engine_set_content_file");
    if (ns_engine_add_style_file(engine, style, 1.0) != NS_OK) return fail("ns_engine_add_style_file");
    if (ns_engine_run(engine, 2, NULL, NULL) != NS_OK) return fail("ns_engine_run");
    if (ns_engine_get_size(engine, &width, &height) != NS_OK) return fail("ns_engine_get_size");
    uint8_t* pixels = malloc((size_t)width * (size_t)height * 4);
    if (pixels == NULL) return fail("malloc");
    ns_status read = ns_engine_read_image(engine, pixels, width, height, width * 4, NS_PIXEL_RGBA8);
    free(pixels);
    if (read != NS_OK) return fail("ns_engine_read_image");
    printf("package: ok %d.%d.%d %dx%d\n", NS_VERSION_MAJOR, NS_VERSION_MINOR, NS_VERSION_PATCH, (int)width, (int)height);
    return 0;
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s CONTENT STYLE\n", argv[0]);
        return 2;
    }

    if (ns_version() != NS_VERSION) {
        fprintf(stderr, "package: the header is version %#x, the library %#x\n", (unsigned)NS_VERSION, (unsigned)ns_version());
        return 1;
    }

    ns_options options;
    if (ns_options_init(&options) != NS_OK) return fail("ns_options_init");
    options.size = 32;
    options.weights = "random:0";
    ns_engine* engine = NULL;
    if (ns_engine_create(&options, &engine) != NS_OK) return fail("ns_engine_create");
    int failed = render(engine, argv[1], argv[2]);
    ns_engine_release(engine);
    return failed;
}
