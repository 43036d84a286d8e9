/* One handle from two threads, as include/neuralstyle.h documents it: while ns_engine_run runs on one thread, the
 * main thread reads the image (each read waits for the iteration under way), is refused a second run, and releases
 * the handle, which makes the run return NS_ERROR_INVALID_HANDLE. Then a sweep: while it runs, the main thread sets its
 * rates aside one by one (each waits for the iteration under way), and the run ends, NS_OK, once none runs.
 * Build: cc -std=c11 -pthread -Wall -Wextra -Werror -I include tests/native/threads.c -L DIR -lneuralstyle -Wl,-rpath,DIR */
#define _POSIX_C_SOURCE 199309L
#include "neuralstyle.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { WIDTH = 48, HEIGHT = 32 };

static atomic_int reached;

static int note_iteration(int32_t iteration, int32_t target, double loss, void* user_data)
{
    (void)target;
    (void)loss;
    (void)user_data;
    atomic_store(&reached, iteration);
    return 0;
}

typedef struct { ns_engine* engine; ns_status status; atomic_int returned; } run_call;

static void* run_long(void* argument)
{
    run_call* call = (run_call*)argument;
    call->status = ns_engine_run(call->engine, 1000000, note_iteration, NULL);
    atomic_store(&call->returned, 1);
    return NULL;
}

/* Whether the run on `call` returns within two minutes: a run that should have ended by itself but goes on for its
 * million iterations is reported as such, instead of holding the test until its process is killed. */
static int returns_soon(run_call* call)
{
    struct timespec tick = { 0, 10 * 1000 * 1000 };
    for (int waited = 0; !atomic_load(&call->returned); waited++) {
        if (waited > 12000) return 0;
        nanosleep(&tick, NULL);
    }
    return 1;
}

/* Starts ns_engine_run(engine, 1000000) on `runner` and waits until it reports iteration 2. */
static int start_long_run(run_call* call, pthread_t* runner)
{
    atomic_store(&reached, 0);
    if (pthread_create(runner, NULL, run_long, call) != 0) return 0;
    struct timespec tick = { 0, 10 * 1000 * 1000 };
    for (int waited = 0; atomic_load(&reached) < 2; waited++) {
        if (waited > 12000) return 0; /* two minutes */
        nanosleep(&tick, NULL);
    }
    return 1;
}

static int fail(const char* what)
{
    fprintf(stderr, "FAIL: %s (last error: %s)\n", what, ns_last_error());
    return 1;
}

int main(void)
{
    static uint8_t content[HEIGHT][WIDTH][3], style[HEIGHT][WIDTH][3], image[HEIGHT][WIDTH][3];
    for (int y = 0; y < HEIGHT; y++) {
        for (int x = 0; x < WIDTH; x++) {
            content[y][x][0] = (uint8_t)(x * 5); content[y][x][1] = (uint8_t)(y * 7); content[y][x][2] = 128;
            style[y][x][0] = (uint8_t)((x * y) % 256); style[y][x][1] = (uint8_t)(x ^ y); style[y][x][2] = (uint8_t)(255 - x);
        }
    }

    ns_options options;
    if (ns_options_init(&options) != NS_OK) return fail("ns_options_init");
    options.size = 0;
    options.weights = "random:0";
    options.device = NS_DEVICE_CPU;
    ns_engine* engine = NULL;
    if (ns_engine_create(&options, &engine) != NS_OK) return fail("ns_engine_create");
    if (ns_engine_set_content(engine, &content[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8) != NS_OK) return fail("set_content");
    if (ns_engine_add_style(engine, &style[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8, 1.0) != NS_OK) return fail("add_style");

    run_call call = { engine, NS_OK, 0 };
    pthread_t runner;
    if (!start_long_run(&call, &runner)) return fail("the run did not start, or did not reach iteration 2 within two minutes");

    int failures = 0;
    if (ns_engine_run(engine, 1, NULL, NULL) != NS_ERROR_INVALID_STATE) failures += fail("a second run at once was not refused");
    for (int read = 0; read < 10; read++) {
        if (ns_engine_read_image(engine, &image[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8) != NS_OK) failures += fail("read_image while running");
    }

    ns_engine_release(engine);
    pthread_join(runner, NULL);
    if (call.status != NS_ERROR_INVALID_HANDLE) {
        fprintf(stderr, "FAIL: the run returned %d after its handle was released, not NS_ERROR_INVALID_HANDLE\n", (int)call.status);
        failures++;
    }

    int single_iterations = atomic_load(&reached);

    const double rates[] = {2, 8};
    options.learning_rates = rates;
    options.learning_rate_count = 2;
    ns_engine* sweep = NULL;
    if (ns_engine_create(&options, &sweep) != NS_OK) return fail("ns_engine_create of a sweep");
    if (ns_engine_set_content(sweep, &content[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8) != NS_OK) return fail("set_content");
    if (ns_engine_add_style(sweep, &style[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8, 1.0) != NS_OK) return fail("add_style");
    run_call swept = { sweep, NS_ERROR_INTERNAL, 0 };
    if (!start_long_run(&swept, &runner)) return fail("the sweep did not start, or did not reach iteration 2 within two minutes");
    if (ns_engine_set_aside_rate(sweep, 8.0) != NS_OK) failures += fail("set_aside_rate(8) while running");
    if (ns_engine_read_rate_image(sweep, 8.0, &image[0][0][0], WIDTH, HEIGHT, WIDTH * 3, NS_PIXEL_RGB8) != NS_OK) failures += fail("read_rate_image(8) while running");
    if (ns_engine_set_aside_rate(sweep, 2.0) != NS_OK) failures += fail("set_aside_rate(2) while running");
    if (!returns_soon(&swept)) { /* no rate runs: the run ends by itself */
        int failed = fail("the sweep's run went on for two minutes after every rate was set aside");
        ns_engine_release(sweep); /* ends it, so that the thread can be joined */
        pthread_join(runner, NULL);
        return failed;
    }

    pthread_join(runner, NULL);
    if (swept.status != NS_OK) {
        fprintf(stderr, "FAIL: the sweep's run returned %d once every rate was set aside, not NS_OK (last error: %s)\n", (int)swept.status, ns_last_error());
        failures++;
    }

    char reason[64];
    if (ns_engine_get_rate_stop_reason(sweep, 2.0, reason, sizeof reason, NULL) != NS_OK || strncmp(reason, "set aside at iteration ", 23) != 0)
        failures += fail("lr 2's stop reason after it was set aside");
    ns_engine_release(sweep);

    if (failures > 0) return 1;
    printf("threads: ok after %d iterations, and a sweep set aside while it ran\n", single_iterations);
    return 0;
}
