/* C smoke test of libneuralstyle: a tiny render through the public header, and the documented answers to misuse.
 * Build: cc -std=c11 -Wall -Wextra -Werror -I include tests/native/smoke.c -L DIR -lneuralstyle -Wl,-rpath,DIR */
#define _POSIX_C_SOURCE 199309L
#include "neuralstyle.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

#define EXPECT(cond, ...)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, " (last error: %s)\n", ns_last_error());        \
            failures++;                                                     \
        }                                                                   \
    } while (0)

#define EXPECT_STATUS(call, expected) \
    do { ns_status s_ = (call); EXPECT(s_ == (expected), "%s returned %d, expected %d", #call, (int)s_, (int)(expected)); } while (0)

typedef struct { int calls; int stop_at; } counter;

static int count_and_maybe_stop(int32_t iteration, int32_t target, double loss, void* user_data)
{
    counter* c = (counter*)user_data;
    (void)target;
    c->calls++;
    if (!(loss > 0)) { fprintf(stderr, "FAIL: loss %g at iteration %d\n", loss, iteration); failures++; }
    return c->stop_at > 0 && c->calls >= c->stop_at;
}

static double absolute(double v) { return v < 0 ? -v : v; } /* without libm */

/* kept (RGBA, packed) must have image's luma (RGBA, packed) and content's chroma (RGBA, rows content_stride apart),
 * within 8-bit rounding on average over the pixels where saving clamped neither image (a channel at 0 or 255 was
 * moved further than rounding), and most pixels must be among them. */
static void expect_in_content_colours(const uint8_t* content, int content_stride, const uint8_t* image, const uint8_t* kept,
                                      int width, int height, const char* which)
{
    double luma_error = 0, chroma_error = 0;
    int compared = 0;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            const uint8_t* c = &content[y * content_stride + x * 4];
            const uint8_t* o = &image[(y * width + x) * 4];
            const uint8_t* k = &kept[(y * width + x) * 4];
            int clamped = 0;
            for (int i = 0; i < 3; i++)
                clamped |= o[i] == 0 || o[i] == 255 || k[i] == 0 || k[i] == 255;
            if (clamped)
                continue;
            compared++;
            luma_error += absolute((0.299 * k[0] + 0.587 * k[1] + 0.114 * k[2]) - (0.299 * o[0] + 0.587 * o[1] + 0.114 * o[2]));
            chroma_error += absolute((-0.168736 * k[0] - 0.331264 * k[1] + 0.5 * k[2]) - (-0.168736 * c[0] - 0.331264 * c[1] + 0.5 * c[2]))
                          + absolute((0.5 * k[0] - 0.418688 * k[1] - 0.081312 * k[2]) - (0.5 * c[0] - 0.418688 * c[1] - 0.081312 * c[2]));
        }
    EXPECT(compared >= width * height / 2 && luma_error / compared <= 0.75 && chroma_error / (2 * compared) <= 0.75,
           "%s, over %d unclamped pixels: mean luma error %g against the image, chroma %g against the content", which, compared,
           luma_error / compared, chroma_error / (2 * compared));
}

/* A rate of a sweep the command line saved (the test wrote FOLDER/sweep/sweep.ckpt: lr 1, 2 and 4 at iteration 2)
 * continues alone with ns_engine_resume_rate; ns_engine_resume continues the whole sweep, whose rates are read by name. */
static void resume_a_sweeps_rate(const char* folder)
{
    char sweep[1024];
    snprintf(sweep, sizeof sweep, "%s/sweep/sweep.ckpt", folder);
    ns_engine* engine = NULL;
    EXPECT_STATUS(ns_engine_resume(sweep, NS_DEVICE_CPU, &engine), NS_OK);
    double rates[4] = {0};
    int32_t count = -1;
    EXPECT_STATUS(ns_engine_get_rates(engine, rates, 4, &count), NS_OK);
    EXPECT(count == 3 && rates[0] == 1 && rates[1] == 2 && rates[2] == 4, "the sweep's %d rates: %g, %g, %g", count, rates[0], rates[1], rates[2]);
    EXPECT_STATUS(ns_engine_run(engine, 1, NULL, NULL), NS_OK);
    static uint8_t image[32 * 32 * 3];
    EXPECT_STATUS(ns_engine_read_image(engine, image, 32, 21, 32 * 3, NS_PIXEL_RGB8), NS_ERROR_INVALID_STATE); /* which rate? */
    EXPECT(strstr(ns_last_error(), "runs 3 learning rates (1, 2, 4); name the one to read, e.g. ns_engine_read_rate_image(engine, 2, ") != NULL,
           "message: %s", ns_last_error());
    int32_t width = 0, height = 0;
    EXPECT_STATUS(ns_engine_get_size(engine, &width, &height), NS_OK);
    EXPECT_STATUS(ns_engine_read_rate_image(engine, 4.0, image, width, height, width * 3, NS_PIXEL_RGB8), NS_OK);
    EXPECT_STATUS(ns_engine_read_rate_image(engine, 3.0, image, width, height, width * 3, NS_PIXEL_RGB8), NS_ERROR_BAD_INPUT);
    ns_engine_release(engine);

    EXPECT_STATUS(ns_engine_resume_rate(sweep, 3.0, NS_DEVICE_CPU, NS_PRECISION_FP32, &engine), NS_ERROR_BAD_INPUT);
    EXPECT(strstr(ns_last_error(), "holds the learning rates 1, 2, 4, not 3; give one of them.") != NULL, "message: %s", ns_last_error());
    EXPECT_STATUS(ns_engine_resume_rate(NULL, 2.0, NS_DEVICE_CPU, NS_PRECISION_FP32, &engine), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_resume_rate(sweep, 2.0, NS_DEVICE_CPU, (ns_precision)7, &engine), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_resume_rate(sweep, 2.0, NS_DEVICE_CPU, NS_PRECISION_FP32, &engine), NS_OK);
    int32_t iteration = -1, rows = -1;
    EXPECT_STATUS(ns_engine_get_iteration(engine, &iteration), NS_OK);
    EXPECT(iteration == 2, "the sweep's rate resumed at iteration %d, expected 2", iteration);
    EXPECT_STATUS(ns_engine_run(engine, 1, NULL, NULL), NS_OK);
    EXPECT_STATUS(ns_engine_get_iteration(engine, &iteration), NS_OK);
    EXPECT_STATUS(ns_engine_get_loss_history(engine, NULL, 0, &rows), NS_OK);
    EXPECT(iteration == 3 && rows == 3, "after one more: iteration %d, %d rows of history (expected 3 and 3: the sweep's 0-2)", iteration, rows);
    ns_engine_release(engine);
}

/* A sweep made here: lr 4, 1 and 16 as one batch, each rate read by name and the same (to 8-bit rounding) as an engine
 * of that rate alone; a rate set aside stops where it was measured while the others go on. */
static void sweep_in_one_batch(const uint8_t* content, int width, int height, int stride, const uint8_t* style, int style_width,
                               int style_height)
{
    enum { MAX_PIXELS = 64 * 64 };
    static uint8_t swept[MAX_PIXELS * 3], alone_image[MAX_PIXELS * 3];
    const double rates[] = {4, 1, 16};
    ns_options options;
    EXPECT_STATUS(ns_options_init(&options), NS_OK);
    options.size = 0;
    options.weights = "random:0";
    options.device = NS_DEVICE_CPU;
    ns_engine* sweep = NULL;
    options.learning_rate_count = 3; /* without the array */
    EXPECT_STATUS(ns_engine_create(&options, &sweep), NS_ERROR_INVALID_ARGUMENT);
    const double twice[] = {4, 1, 4};
    options.learning_rates = twice;
    EXPECT_STATUS(ns_engine_create(&options, &sweep), NS_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(ns_last_error(), "options->learning_rates lists a learning rate twice") != NULL, "message: %s", ns_last_error());
    options.learning_rates = rates;
    EXPECT_STATUS(ns_engine_create(&options, &sweep), NS_OK);
    EXPECT_STATUS(ns_engine_set_content(sweep, content, width, height, stride, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_add_style(sweep, style, style_width, style_height, style_width * 3, NS_PIXEL_RGB8, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_set_aside_rate(sweep, 16.0), NS_ERROR_INVALID_STATE); /* nothing runs yet */
    EXPECT_STATUS(ns_engine_run(sweep, 2, NULL, NULL), NS_OK);

    for (int n = 0; n < 3; n++) {
        ns_options one;
        EXPECT_STATUS(ns_options_init(&one), NS_OK);
        one.size = 0;
        one.weights = "random:0";
        one.device = NS_DEVICE_CPU;
        one.learning_rate = rates[n];
        ns_engine* alone = NULL;
        EXPECT_STATUS(ns_engine_create(&one, &alone), NS_OK);
        EXPECT_STATUS(ns_engine_set_content(alone, content, width, height, stride, NS_PIXEL_RGBA8), NS_OK);
        EXPECT_STATUS(ns_engine_add_style(alone, style, style_width, style_height, style_width * 3, NS_PIXEL_RGB8, 1.0), NS_OK);
        EXPECT_STATUS(ns_engine_run(alone, 2, NULL, NULL), NS_OK);
        EXPECT_STATUS(ns_engine_read_image(alone, alone_image, width, height, width * 3, NS_PIXEL_RGB8), NS_OK);
        EXPECT_STATUS(ns_engine_read_rate_image(alone, rates[n], swept, width, height, width * 3, NS_PIXEL_RGB8), NS_OK); /* its own rate */
        ns_engine_release(alone);
        EXPECT_STATUS(ns_engine_read_rate_image(sweep, rates[n], swept, width, height, width * 3, NS_PIXEL_RGB8), NS_OK);
        int off = 0; /* a batch sums in another order than one image: at most 1 apart after rounding to 8 bits */
        for (int i = 0; i < width * height * 3; i++)
            off += swept[i] > alone_image[i] + 1 || alone_image[i] > swept[i] + 1;
        EXPECT(off == 0, "lr %g: %d bytes of the sweep's image more than 1 from the engine of that rate alone", rates[n], off);
    }

    ns_loss_record rows[8];
    int32_t count = -1, length = -1;
    char reason[64];
    EXPECT_STATUS(ns_engine_set_aside_rate(sweep, 16.0), NS_OK);
    EXPECT_STATUS(ns_engine_read_rate_image(sweep, 16.0, alone_image, width, height, width * 3, NS_PIXEL_RGB8), NS_OK);
    EXPECT_STATUS(ns_engine_run(sweep, 2, NULL, NULL), NS_OK);
    EXPECT_STATUS(ns_engine_get_rate_stop_reason(sweep, 16.0, reason, sizeof reason, &length), NS_OK);
    EXPECT(strcmp(reason, "set aside at iteration 1") == 0 && length == (int32_t)strlen(reason), "lr 16 stopped: \"%s\" (%d)", reason, length);
    EXPECT_STATUS(ns_engine_get_rate_stop_reason(sweep, 4.0, reason, sizeof reason, &length), NS_OK);
    EXPECT(reason[0] == 0 && length == 0, "lr 4 runs, but its stop reason is \"%s\"", reason);
    EXPECT_STATUS(ns_engine_get_rate_loss_history(sweep, 16.0, rows, 8, &count), NS_OK);
    EXPECT(count == 2 && rows[1].iteration == 1, "lr 16 set aside: %d rows, the last at %d (expected 2, at 1)", count, rows[count - 1].iteration);
    EXPECT_STATUS(ns_engine_get_rate_loss_history(sweep, 4.0, rows, 8, &count), NS_OK);
    EXPECT(count == 4 && rows[3].iteration == 3, "lr 4 went on: %d rows (expected 4)", count);
    EXPECT_STATUS(ns_engine_read_rate_image(sweep, 16.0, swept, width, height, width * 3, NS_PIXEL_RGB8), NS_OK);
    EXPECT(memcmp(swept, alone_image, (size_t)(width * height * 3)) == 0, "lr 16's image changed after it was set aside");
    int32_t best = -1;
    EXPECT_STATUS(ns_engine_read_rate_best_image(sweep, 1.0, swept, width, height, width * 3, NS_PIXEL_RGB8, &best), NS_OK);
    EXPECT(best >= 0 && best <= 3, "lr 1's best image at iteration %d", best);
    EXPECT_STATUS(ns_engine_read_rate_image_in_content_colors(sweep, 1.0, swept, width, height, width * 3, NS_PIXEL_RGB8), NS_OK);
    double gain = -1;
    EXPECT_STATUS(ns_engine_get_rate_recent_gain(sweep, 1.0, 3, &gain), NS_OK);
    EXPECT(gain >= 0, "lr 1's gain over 3 iterations: %g", gain);
    EXPECT_STATUS(ns_engine_get_rate_recent_gain(sweep, 2.0, 3, &gain), NS_ERROR_BAD_INPUT);
    EXPECT(strstr(ns_last_error(), "runs the learning rates 4, 1, 16, not 2; give one of them.") != NULL, "message: %s", ns_last_error());

    /* Every rate set aside: a run does nothing, and says so by its status only. */
    EXPECT_STATUS(ns_engine_set_aside_rate(sweep, 4.0), NS_OK);
    EXPECT_STATUS(ns_engine_set_aside_rate(sweep, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_set_aside_rate(sweep, 1.0), NS_OK); /* again: harmless */
    int32_t before = -1, after = -1;
    EXPECT_STATUS(ns_engine_get_iteration(sweep, &before), NS_OK);
    EXPECT_STATUS(ns_engine_run(sweep, 2, NULL, NULL), NS_OK);
    EXPECT_STATUS(ns_engine_get_iteration(sweep, &after), NS_OK);
    EXPECT(before == 4 && after == 4, "iterations %d then %d with every rate set aside (expected 4 and 4)", before, after);
    ns_engine_release(sweep);

    /* A rate that diverges stops alone; the run fails only once no rate runs. */
    const double absurd[] = {1, 1e30};
    options.learning_rates = absurd;
    options.learning_rate_count = 2;
    EXPECT_STATUS(ns_engine_create(&options, &sweep), NS_OK);
    EXPECT_STATUS(ns_engine_set_content(sweep, content, width, height, stride, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_add_style(sweep, style, style_width, style_height, style_width * 3, NS_PIXEL_RGB8, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_run(sweep, 3, NULL, NULL), NS_OK);
    EXPECT_STATUS(ns_engine_get_rate_stop_reason(sweep, 1e30, reason, sizeof reason, NULL), NS_OK);
    EXPECT(strcmp(reason, "diverged at iteration 1") == 0, "lr 1e30 stopped: \"%s\"", reason);
    EXPECT_STATUS(ns_engine_set_aside_rate(sweep, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_run(sweep, 1, NULL, NULL), NS_ERROR_DIVERGED);
    EXPECT(strstr(ns_last_error(), "Learning rate 1E+30 diverged at iteration 1 and no rate runs any more") != NULL, "message: %s", ns_last_error());
    ns_engine_release(sweep);

    /* A 0.4–0.9 program's ns_options ends before learning_rates: the library writes nothing past it and runs one rate. */
    unsigned char guard[sizeof(ns_options) + 16];
    const uint32_t size_04 = (uint32_t)offsetof(ns_options, learning_rates);
    memset(guard, 0xAB, sizeof guard);
    EXPECT_STATUS(ns_options_init_sized((ns_options*)(void*)guard, size_04), NS_OK);
    for (size_t i = size_04; i < sizeof guard; i++)
        EXPECT(guard[i] == 0xAB, "ns_options_init_sized wrote byte %u past a 0.4 struct of %u", (unsigned)i, (unsigned)size_04);
    ns_engine* old_engine = NULL;
    EXPECT_STATUS(ns_engine_create((const ns_options*)(const void*)guard, &old_engine), NS_OK);
    EXPECT_STATUS(ns_engine_get_rates(old_engine, NULL, 0, &count), NS_OK);
    EXPECT(count == 1, "a 0.4 struct's engine runs %d rates", count);
    ns_engine_release(old_engine);
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char** argv)
{
    const char* folder = argc > 1 ? argv[1] : "/tmp";
    EXPECT(ns_version() == NS_VERSION, "ns_version() = %u, header says %u", ns_version(), (unsigned)NS_VERSION);

    /* Misuse before anything exists. */
    ns_engine* engine = NULL;
    EXPECT_STATUS(ns_engine_create(NULL, &engine), NS_ERROR_INVALID_ARGUMENT);
    EXPECT(strlen(ns_last_error()) > 0, "no message after a failure");
    EXPECT_STATUS(ns_engine_run(NULL, 1, NULL, NULL), NS_ERROR_INVALID_HANDLE);
    EXPECT_STATUS(ns_engine_get_iteration((ns_engine*)(intptr_t)123456, NULL), NS_ERROR_INVALID_HANDLE);
    ns_engine_release(NULL);

    ns_options options;
    EXPECT_STATUS(ns_options_init(&options), NS_OK);
    EXPECT(strlen(ns_last_error()) == 0, "a message after a success");
    EXPECT(options.struct_size == sizeof options && options.style_scale == 1.0 && options.max_megapixels == 100.0,
           "defaults: struct_size %u of %u, style_scale %g, max_megapixels %g", options.struct_size, (unsigned)sizeof options,
           options.style_scale, options.max_megapixels);
    EXPECT_STATUS(ns_options_init_sized(&options, (uint32_t)sizeof options + 8), NS_ERROR_INVALID_ARGUMENT); /* a newer header's */
    EXPECT(strstr(ns_last_error(), "older than the header") != NULL, "message: %s", ns_last_error());
    options.size = 0; /* keep the content's size */
    options.weights = "random:0";
    options.device = NS_DEVICE_CPU;
    options.learning_rate = -1;
    EXPECT_STATUS(ns_engine_create(&options, &engine), NS_ERROR_INVALID_ARGUMENT);
    options.learning_rate = 10;
    options.size = 16385; /* above the largest size */
    EXPECT_STATUS(ns_engine_create(&options, &engine), NS_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(ns_last_error(), "options->size must be between 0") != NULL, "message: %s", ns_last_error());
    options.size = 0;
    EXPECT(options.precision == NS_PRECISION_FP32, "default precision %d", (int)options.precision);
    options.precision = (ns_precision)7;
    EXPECT_STATUS(ns_engine_create(&options, &engine), NS_ERROR_INVALID_ARGUMENT);
    options.precision = NS_PRECISION_TF32; /* accepted everywhere; the CPU ignores it */
    EXPECT_STATUS(ns_engine_create(&options, &engine), NS_OK);
    char device[256];
    int32_t device_length = -1;
    EXPECT_STATUS(ns_engine_get_device(engine, device, sizeof device, &device_length), NS_ERROR_INVALID_STATE); /* not chosen yet */

    /* Content: 40×32 RGBA with 8 bytes of padding per row; style: 36×28 RGB stripes. */
    enum { W = 40, H = 32, STRIDE = W * 4 + 8, SW = 36, SH = 28 };
    static uint8_t content[H * STRIDE], style[SH * SW * 3], out[H * W * 4];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t* p = &content[y * STRIDE + x * 4];
            p[0] = (uint8_t)(x * 6); p[1] = (uint8_t)(y * 8); p[2] = 128; p[3] = 255;
        }
    for (int i = 0; i < SW * SH; i++) {
        int stripe = (i % SW) / 4 % 2;
        style[i * 3 + 0] = stripe ? 240 : 20; style[i * 3 + 1] = 90; style[i * 3 + 2] = stripe ? 30 : 200;
    }

    EXPECT_STATUS(ns_engine_run(engine, 1, NULL, NULL), NS_ERROR_INVALID_STATE); /* no content yet */
    EXPECT_STATUS(ns_engine_read_best_image(engine, out, W, H, W * 4, NS_PIXEL_RGBA8, NULL), NS_ERROR_INVALID_STATE); /* no loss yet */
    EXPECT(strstr(ns_last_error(), "no best image: run the engine first") != NULL, "message: %s", ns_last_error());
    EXPECT_STATUS(ns_engine_set_content(engine, content, W, H, W * 4 - 1, NS_PIXEL_RGBA8), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_set_content(engine, content, W, H, STRIDE, (ns_pixel_format)5), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_set_content(engine, NULL, W, H, STRIDE, NS_PIXEL_RGBA8), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_set_content(engine, content, W, H, STRIDE, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_set_content_file(engine, "/no/such/image.png"), NS_ERROR_BAD_INPUT);
    EXPECT_STATUS(ns_engine_add_style(engine, style, SW, SH, SW * 3, NS_PIXEL_RGB8, 1.0), NS_OK);

    double start = seconds();
    counter progress = {0, 0};
    EXPECT_STATUS(ns_engine_run(engine, 3, count_and_maybe_stop, &progress), NS_OK);
    double elapsed = seconds() - start;
    EXPECT(progress.calls == 3, "progress called %d times, expected 3", progress.calls);
    int32_t iteration = -1, width = 0, height = 0;
    EXPECT_STATUS(ns_engine_get_iteration(engine, &iteration), NS_OK);
    EXPECT(iteration == 3, "iteration %d, expected 3", iteration);
    EXPECT_STATUS(ns_engine_get_device(engine, device, sizeof device, &device_length), NS_OK);
    EXPECT(strncmp(device, "CPU (", 5) == 0 && device_length == (int32_t)strlen(device), "device \"%s\", length %d", device, device_length);
    char cut[6];
    EXPECT_STATUS(ns_engine_get_device(engine, cut, sizeof cut, NULL), NS_OK);
    EXPECT(strcmp(cut, "CPU (") == 0, "device cut to 6 bytes is \"%s\"", cut);
    EXPECT_STATUS(ns_engine_get_device(engine, NULL, 0, &device_length), NS_OK);
    EXPECT_STATUS(ns_engine_get_device(engine, NULL, 4, NULL), NS_ERROR_INVALID_ARGUMENT);

    /* A callback that stops after the second of five iterations. */
    counter stopper = {0, 2};
    EXPECT_STATUS(ns_engine_run(engine, 5, count_and_maybe_stop, &stopper), NS_ERROR_CANCELLED);
    EXPECT_STATUS(ns_engine_get_iteration(engine, &iteration), NS_OK);
    EXPECT(iteration == 5, "iteration %d after a stop at 2 more, expected 5", iteration);

    /* The loss history (0.7): a row per iteration, the image after k updates, and the gain over a window of it. */
    int32_t rows = -1;
    EXPECT_STATUS(ns_engine_get_loss_history(engine, NULL, 0, &rows), NS_OK);
    EXPECT(rows == 5, "%d history rows after 5 iterations, expected 5", rows);
    ns_loss_record history[8];
    memset(history, 0xAB, sizeof history);
    EXPECT_STATUS(ns_engine_get_loss_history(engine, history, 2, &rows), NS_OK);
    EXPECT(rows == 5 && history[1].iteration == 1 && history[2].iteration == (int32_t)0xABABABAB,
           "capacity 2: %d rows, row 1 is iteration %d, and row 2 must be untouched", rows, history[1].iteration);
    EXPECT_STATUS(ns_engine_get_loss_history(engine, history, 8, NULL), NS_OK);
    for (int i = 0; i < 5; i++) {
        const ns_loss_record* r = &history[i];
        EXPECT(r->iteration == i && r->total > 0 && absolute(r->total - (r->content + r->style + r->tv)) <= 1e-9 * r->total
                   && r->seconds >= (i > 0 ? history[i - 1].seconds : 0),
               "row %d: iteration %d, total %g = %g + %g + %g, %g s", i, r->iteration, r->total, r->content, r->style, r->tv, r->seconds);
    }
    EXPECT_STATUS(ns_engine_get_loss_history(engine, NULL, 3, &rows), NS_ERROR_INVALID_ARGUMENT);
    double gain = 0;
    EXPECT_STATUS(ns_engine_get_recent_gain(engine, 4, &gain), NS_OK);
    double lowest = history[0].total; /* the lowest loss so far fell from row 0's to the lowest of rows 0..4 */
    for (int i = 1; i < 5; i++)
        lowest = history[i].total < lowest ? history[i].total : lowest;
    double expected_gain = 100 * (history[0].total - lowest) / history[0].total;
    EXPECT(absolute(gain - expected_gain) <= 1e-9 * absolute(expected_gain) && gain > 0, "gain over 4 iterations %g, expected %g", gain, expected_gain);
    EXPECT_STATUS(ns_engine_get_recent_gain(engine, 5, &gain), NS_ERROR_INVALID_STATE);
    EXPECT(strstr(ns_last_error(), "reaches back 4 iterations, not 5: run 1 more") != NULL, "message: %s", ns_last_error());
    EXPECT_STATUS(ns_engine_get_recent_gain(engine, 0, &gain), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_get_recent_gain(engine, 4, NULL), NS_ERROR_INVALID_ARGUMENT);

    EXPECT_STATUS(ns_engine_add_style(engine, style, SW, SH, SW * 3, NS_PIXEL_RGB8, 1.0), NS_ERROR_INVALID_STATE);
    EXPECT_STATUS(ns_engine_get_size(engine, &width, &height), NS_OK);
    EXPECT(width == W && height == H, "size %dx%d, expected %dx%d", width, height, W, H);
    EXPECT_STATUS(ns_engine_read_image(engine, out, W + 1, H, (W + 1) * 4, NS_PIXEL_RGBA8), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_read_image(engine, out, W, H, W * 4, NS_PIXEL_RGBA8), NS_OK);
    int changed = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t* a = &content[y * STRIDE + x * 4];
            const uint8_t* b = &out[(y * W + x) * 4];
            changed += a[0] != b[0] || a[1] != b[1] || a[2] != b[2];
            EXPECT(b[3] == 255, "alpha %d at %d,%d", b[3], x, y);
        }
    EXPECT(changed > W * H / 2, "only %d of %d pixels changed", changed, W * H);

    /* In the content's colours (0.5): the image's luma with the content's chroma. */
    static uint8_t kept[H * W * 4];
    EXPECT_STATUS(ns_engine_read_image_in_content_colors(engine, kept, W + 1, H, (W + 1) * 4, NS_PIXEL_RGBA8), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_read_image_in_content_colors(engine, kept, W, H, W * 4, NS_PIXEL_RGBA8), NS_OK);
    expect_in_content_colours(content, STRIDE, out, kept, W, H, "the engine");

    /* The best image (0.8): that of the lowest loss so far, an image from before the last update. */
    static uint8_t best[H * W * 4], resumed_best[H * W * 4];
    int32_t best_iteration = -1, lowest_row = 0;
    for (int i = 1; i < 5; i++)
        lowest_row = history[i].total < history[lowest_row].total ? i : lowest_row;
    EXPECT_STATUS(ns_engine_read_best_image(engine, best, W + 1, H, (W + 1) * 4, NS_PIXEL_RGBA8, NULL), NS_ERROR_INVALID_ARGUMENT);
    EXPECT_STATUS(ns_engine_read_best_image(engine, best, W, H, W * 4, NS_PIXEL_RGBA8, &best_iteration), NS_OK);
    EXPECT(best_iteration == lowest_row, "best image of iteration %d, but the lowest loss is row %d's", best_iteration, lowest_row);
    EXPECT(memcmp(best, out, sizeof best) != 0, "the best image, of iteration %d, equals the current image, after 5 updates", best_iteration);

    /* Checkpoint, resume, and go on. */
    char path[512];
    snprintf(path, sizeof path, "%s/smoke.ckpt", folder);
    EXPECT_STATUS(ns_engine_save_checkpoint(engine, path), NS_OK);
    ns_engine* resumed = NULL;
    EXPECT_STATUS(ns_engine_resume(path, NS_DEVICE_CPU, &resumed), NS_OK);
    int32_t resumed_best_iteration = -1; /* the checkpoint carries the best image */
    EXPECT_STATUS(ns_engine_read_best_image(resumed, resumed_best, W, H, W * 4, NS_PIXEL_RGBA8, &resumed_best_iteration), NS_OK);
    EXPECT(resumed_best_iteration == best_iteration && memcmp(resumed_best, best, sizeof best) == 0,
           "resumed: best image of iteration %d (before the resume: %d), the same pixels: %d", resumed_best_iteration, best_iteration,
           memcmp(resumed_best, best, sizeof best) == 0);
    EXPECT_STATUS(ns_engine_run(resumed, 1, NULL, NULL), NS_OK);
    EXPECT_STATUS(ns_engine_get_iteration(resumed, &iteration), NS_OK);
    EXPECT(iteration == 6, "resumed iteration %d, expected 6", iteration);
    /* A resumed engine's history goes on from the checkpoint's, so a window may reach back across the resume. */
    ns_loss_record resumed_history[8];
    EXPECT_STATUS(ns_engine_get_loss_history(resumed, resumed_history, 8, &rows), NS_OK);
    EXPECT(rows == 6 && resumed_history[4].total == history[4].total && resumed_history[5].iteration == 5,
           "resumed: %d rows, row 4 %g (before the resume %g), row 5 is iteration %d", rows, resumed_history[4].total, history[4].total,
           resumed_history[5].iteration);
    EXPECT_STATUS(ns_engine_get_recent_gain(resumed, 5, &gain), NS_OK);
    /* This library's checkpoints keep the content image (0.6), so the resumed engine knows its colours. */
    EXPECT_STATUS(ns_engine_read_image(resumed, out, W, H, W * 4, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_read_image_in_content_colors(resumed, kept, W, H, W * 4, NS_PIXEL_RGBA8), NS_OK);
    expect_in_content_colours(content, STRIDE, out, kept, W, H, "the resumed engine");
    EXPECT_STATUS(ns_engine_resume("/no/such.ckpt", NS_DEVICE_CPU, &resumed), NS_ERROR_BAD_INPUT);
    ns_engine* resumed_tf32 = NULL;
    EXPECT_STATUS(ns_engine_resume_with_precision(path, NS_DEVICE_CPU, NS_PRECISION_TF32, &resumed_tf32), NS_OK);
    EXPECT_STATUS(ns_engine_run(resumed_tf32, 1, NULL, NULL), NS_OK);
    EXPECT_STATUS(ns_engine_get_iteration(resumed_tf32, &iteration), NS_OK);
    EXPECT(iteration == 6, "resumed (TF32 allowed) iteration %d, expected 6", iteration);
    ns_engine_release(resumed_tf32);
    EXPECT_STATUS(ns_engine_resume_with_precision(path, NS_DEVICE_CPU, (ns_precision)7, &resumed_tf32), NS_ERROR_INVALID_ARGUMENT);

    /* The engine's own messages name ns_options' fields, never the command line's options. */
    ns_engine* overflowing = NULL;
    options.style_weight = 1e308;
    EXPECT_STATUS(ns_engine_create(&options, &overflowing), NS_OK);
    options.style_weight = 100;
    EXPECT_STATUS(ns_engine_set_content(overflowing, content, W, H, STRIDE, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_add_style(overflowing, style, SW, SH, SW * 3, NS_PIXEL_RGB8, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_run(overflowing, 1, NULL, NULL), NS_ERROR_BAD_INPUT);
    EXPECT(strstr(ns_last_error(), "lower options->style_weight") != NULL && strstr(ns_last_error(), "--") == NULL, "message: %s", ns_last_error());
    ns_engine_release(overflowing);

    /* A loss of 0 from the start (content weight only, starting from the content) has no gain to measure. */
    options.style_weight = 0;
    options.tv_weight = 0;
    ns_engine* settled = NULL;
    EXPECT_STATUS(ns_engine_create(&options, &settled), NS_OK);
    options.style_weight = 100;
    options.tv_weight = 1e-3;
    EXPECT_STATUS(ns_engine_set_content(settled, content, W, H, STRIDE, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_add_style(settled, style, SW, SH, SW * 3, NS_PIXEL_RGB8, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_run(settled, 3, NULL, NULL), NS_OK);
    EXPECT_STATUS(ns_engine_get_recent_gain(settled, 2, &gain), NS_ERROR_INVALID_STATE);
    EXPECT(strstr(ns_last_error(), "The lowest loss by iteration 0 is 0, so there is no gain relative to it.") != NULL, "message: %s", ns_last_error());
    ns_engine_release(settled);

    /* options->style_scale sizes the style image: a fifth of the content's 40 px leaves 8×6, too small for relu5_1. */
    options.style_scale = 0.2;
    ns_engine* small_style = NULL;
    EXPECT_STATUS(ns_engine_create(&options, &small_style), NS_OK);
    EXPECT_STATUS(ns_engine_set_content(small_style, content, W, H, STRIDE, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_add_style(small_style, style, SW, SH, SW * 3, NS_PIXEL_RGB8, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_run(small_style, 1, NULL, NULL), NS_ERROR_BAD_INPUT);
    EXPECT(strstr(ns_last_error(), "A style image is 8×6") != NULL && strstr(ns_last_error(), "raise options->style_scale (or options->size)") != NULL,
           "message: %s", ns_last_error());
    ns_engine_release(small_style);
    options.style_scale = 0;
    EXPECT_STATUS(ns_engine_create(&options, &small_style), NS_ERROR_INVALID_ARGUMENT);
    EXPECT(strstr(ns_last_error(), "options->style_scale must be > 0") != NULL, "message: %s", ns_last_error());
    options.style_scale = 1;

    /* A program built against the 0.3 header: its ns_options ends after precision, and it calls the function
     * ns_options_init (the parentheses bypass this header's macro). The library must not write past that struct and
     * must give the fields it lacks their defaults. */
    struct {
        uint32_t struct_size; int32_t size; double learning_rate, content_weight, style_weight, tv_weight;
        const char* weights; ns_device device; ns_precision precision;
    } old_options;
    unsigned char guard[sizeof old_options + 16];
    memset(guard, 0xAB, sizeof guard);
    EXPECT_STATUS((ns_options_init)((ns_options*)(void*)guard), NS_OK);
    memcpy(&old_options, guard, sizeof old_options);
    EXPECT(old_options.struct_size == sizeof old_options, "0.3 struct_size %u, expected %u", old_options.struct_size, (unsigned)sizeof old_options);
    for (size_t i = sizeof old_options; i < sizeof guard; i++)
        EXPECT(guard[i] == 0xAB, "ns_options_init wrote byte %u past a 0.3 struct of %u", (unsigned)i, (unsigned)sizeof old_options);
    old_options.size = 0;
    old_options.weights = "random:0";
    old_options.device = NS_DEVICE_CPU;
    memcpy(guard, &old_options, sizeof old_options);
    ns_engine* old_engine = NULL;
    EXPECT_STATUS(ns_engine_create((const ns_options*)(const void*)guard, &old_engine), NS_OK);
    EXPECT_STATUS(ns_engine_set_content(old_engine, content, W, H, STRIDE, NS_PIXEL_RGBA8), NS_OK);
    EXPECT_STATUS(ns_engine_add_style(old_engine, style, SW, SH, SW * 3, NS_PIXEL_RGB8, 1.0), NS_OK);
    EXPECT_STATUS(ns_engine_run(old_engine, 1, NULL, NULL), NS_OK); /* style_scale 1: the style at the content's 40 px */
    ns_engine_release(old_engine);

    /* After release, the handle is refused, not used. */
    ns_engine_release(engine);
    ns_engine_release(engine);
    EXPECT_STATUS(ns_engine_run(engine, 1, NULL, NULL), NS_ERROR_INVALID_HANDLE);
    EXPECT_STATUS(ns_engine_get_size(engine, &width, &height), NS_ERROR_INVALID_HANDLE);
    ns_engine_release(resumed);

    resume_a_sweeps_rate(folder);
    sweep_in_one_batch(content, W, H, STRIDE, style, SW, SH);

    if (failures == 0)
        printf("smoke: ok (3 iterations at %dx%d in %.2f s, including setup)\n", W, H, elapsed);
    return failures == 0 ? 0 : 1;
}
