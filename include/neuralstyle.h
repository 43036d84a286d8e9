/*
 * neuralstyle.h — the C ABI of libneuralstyle, the NeuralStyle engine as a native shared library.
 *
 * Conventions
 *  - Every fallible function returns ns_status; NS_OK (0) means success. On failure, ns_last_error() returns a
 *    one-sentence message for the calling thread (valid until that thread's next ns_* call).
 *  - Handles are opaque. A handle is valid from its create/resume call until ns_engine_release(); any call with a
 *    released handle returns NS_ERROR_INVALID_HANDLE (handles are never reused). Release functions accept NULL.
 *  - Pixel buffers always belong to the caller: the library copies what it reads and writes into buffers the
 *    caller provides. No memory allocated by the library is ever handed out, so there is nothing to free.
 *  - Different handles may be used from different threads, and one handle may move between threads, on the CPU
 *    and on CUDA alike. While ns_engine_run runs on one thread, another may read the image, the size or the
 *    device, save a checkpoint or release the handle: each waits for the current iteration to end (a release
 *    then makes the run return NS_ERROR_INVALID_HANDLE). A second ns_engine_run on one handle at once fails with
 *    NS_ERROR_INVALID_STATE; other calls that change an engine (content, styles) are for before its first run.
 *  - Strings are UTF-8, NUL-terminated.
 *  - An engine runs one learning rate, or several as one batch, a sweep (options->learning_rates, 0.10): one network
 *    pass per iteration computes them all. A sweep's rates are read with the functions named *_rate_*, which take
 *    the rate (exactly as given); the others read an engine of one rate, and on a sweep return
 *    NS_ERROR_INVALID_STATE. The *_rate_* functions read an engine of one rate too, given its rate.
 */
#ifndef NEURALSTYLE_H
#define NEURALSTYLE_H

#include <stdint.h>

#define NS_VERSION_MAJOR 0
#define NS_VERSION_MINOR 10
#define NS_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch; compare with ns_version() to detect a mismatched library. */
#define NS_VERSION ((NS_VERSION_MAJOR << 16) | (NS_VERSION_MINOR << 8) | NS_VERSION_PATCH)

#if defined(__GNUC__) || defined(__clang__)
#define NS_NODISCARD __attribute__((warn_unused_result))
#else
#define NS_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ns_status {
    NS_OK = 0,
    NS_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, a size or stride that does not fit, a bad option value */
    NS_ERROR_INVALID_HANDLE = 2,   /* NULL, released, or never created */
    NS_ERROR_BAD_INPUT = 3,        /* a file or setting the engine cannot use (unreadable image, wrong weights, too small) */
    NS_ERROR_INVALID_STATE = 4,    /* e.g. running before a content and a style image are set */
    NS_ERROR_CANCELLED = 5,        /* the progress callback asked to stop; the iterations done so far are kept */
    NS_ERROR_DIVERGED = 6,         /* the loss became NaN or infinite; the image is the last finite one (right after
                                      ns_engine_resume: the resumed one; ns_last_error() says which) */
    NS_ERROR_INTERNAL = 7          /* a bug or an environment failure; ns_last_error() says what */
} ns_status;

typedef enum ns_pixel_format {
    NS_PIXEL_RGB8 = 3,  /* 3 bytes per pixel */
    NS_PIXEL_RGBA8 = 4  /* 4 bytes per pixel; alpha is composited over white on input and written as 255 */
} ns_pixel_format;

typedef enum ns_device {
    NS_DEVICE_AUTO = 0,
    NS_DEVICE_CPU = 1,
    NS_DEVICE_CUDA = 2
} ns_device;

typedef enum ns_precision {
    NS_PRECISION_FP32 = 0, /* IEEE float32 throughout */
    NS_PRECISION_TF32 = 1  /* on CUDA, TF32 tensor cores in the convolutions: faster, about 1e-3 relative; the CPU ignores it */
} ns_precision;

/* Settings for ns_engine_create. Fill with ns_options_init(), then change what you need. Fields are only ever
 * added at the end: struct_size tells the library which of them the caller's struct has, so a program built
 * against an older header keeps working with a newer library (the fields it lacks take their defaults). */
typedef struct ns_options {
    uint32_t struct_size;      /* sizeof(ns_options) as the caller was compiled; set by ns_options_init */
    int32_t size;              /* long side of the output in pixels; 0 keeps the content's size (default 192) */
    double learning_rate;      /* Adam learning rate in 0..255 pixel units (default 10) */
    double content_weight;     /* cw (default 5) */
    double style_weight;       /* sw (default 100) */
    double tv_weight;          /* tvw (default 1e-3) */
    const char* weights;       /* "auto", "random[:SEED]" or an ONNX VGG19 path; NULL means "auto" */
    ns_device device;          /* default NS_DEVICE_AUTO; ns_engine_get_device says what the first run chose */
    ns_precision precision;    /* default NS_PRECISION_FP32 (added in 0.2, in what was padding: sizeof is unchanged) */
    /* Added in 0.4. */
    double style_scale;        /* the style images' long side is the output's (or the content's) times this; > 0
                                  and ≤ 16 (default 1) */
    double max_megapixels;     /* largest image accepted from a file, in megapixels (default 100) */
    /* Added in 0.10. */
    const double* learning_rates; /* a sweep: these rates, each finite, > 0 and given once, run as one batch in place of
                                     learning_rate; read only by ns_engine_create (copied). NULL (the default) runs
                                     learning_rate alone */
    int32_t learning_rate_count;  /* how many learning_rates holds (default 0) */
} ns_options;

/* Called after every iteration with the iterations done, the target, and the total loss at the start of the
 * iteration just done (a sweep's: the lowest finite total of its rates). Return 0 to go on, non-zero to stop
 * (ns_engine_run then returns NS_ERROR_CANCELLED). */
typedef int (*ns_progress_fn)(int32_t iteration, int32_t target, double loss, void* user_data);

typedef struct ns_engine ns_engine;

/* One row of an engine's loss history: the loss of the image after `iteration` updates (row 0: the starting image),
 * its weighted terms (total = content + style + tv), and the seconds of optimization by then, a resumed run's
 * including those before the resume. Added in 0.7. Its layout is fixed (an array's stride depends on it): a later
 * version that records more adds a function rather than fields. */
typedef struct ns_loss_record {
    int32_t iteration;
    double total;
    double content;
    double style;
    double tv;
    double seconds;
} ns_loss_record;

/* The library's version, NS_VERSION's encoding. */
uint32_t ns_version(void);

/* The calling thread's last error message, or "" when the last call succeeded. Never NULL. */
const char* ns_last_error(void);

/* Fills the first struct_size bytes of *options with the defaults and sets options->struct_size to it: the fields
 * a caller's ns_options has, which a library newer than the caller's header must not write past. struct_size is
 * one of the sizes this header's versions have had (0.1–0.3: 56 bytes; 0.4–0.9: 72); a larger one, from a
 * newer header than the library's, is NS_ERROR_INVALID_ARGUMENT. Added in 0.4. */
NS_NODISCARD ns_status ns_options_init_sized(ns_options* options, uint32_t struct_size);

/* Fills *options with the defaults. Until 0.3 a function that filled the 0.3 fields; the library still exports it
 * for programs built then. Since 0.4 this macro passes the size of the ns_options you were compiled with. */
NS_NODISCARD ns_status ns_options_init(ns_options* options);
#define ns_options_init(options) ns_options_init_sized((options), (uint32_t)sizeof(ns_options))

/* Creates an engine; *engine receives the handle. Nothing heavy happens until the first ns_engine_run. Reads
 * *options as far as options->struct_size goes (as ns_options_init set it); fields past it take their defaults. */
NS_NODISCARD ns_status ns_engine_create(const ns_options* options, ns_engine** engine);

/* Continues a checkpoint written by ns_engine_save_checkpoint or the command line, in NS_PRECISION_FP32: every rate of
 * a sweep's (since 0.10; until then refused), where those that stopped stay where they are. */
NS_NODISCARD ns_status ns_engine_resume(const char* checkpoint_path, ns_device device, ns_engine** engine);

/* As ns_engine_resume, in the given precision: NS_PRECISION_TF32 lets CUDA use TF32 tensor cores, as a run created
 * with it did; the CPU computes in FP32 either way. Added in 0.3. */
NS_NODISCARD ns_status ns_engine_resume_with_precision(const char* checkpoint_path, ns_device device, ns_precision precision,
                                                       ns_engine** engine);

/* Continues one learning rate of a sweep the command line saved (FOLDER/sweep.ckpt) alone, from where the sweep left
 * it, as `neuralstyle render --resume FOLDER/sweep.ckpt --lr RATE` does: a rate set aside or stopped at a plateau goes
 * on from its own iteration; one that diverged stays where it stopped. The sweep's file is only read: save this run's
 * checkpoint elsewhere. NS_ERROR_BAD_INPUT for a rate the checkpoint does not hold (ns_last_error() lists those it
 * does); a checkpoint of one run continues as with ns_engine_resume_with_precision where its rate is learning_rate.
 * Added in 0.9. */
NS_NODISCARD ns_status ns_engine_resume_rate(const char* checkpoint_path, double learning_rate, ns_device device, ns_precision precision,
                                             ns_engine** engine);

/* Sets the content image from caller-owned pixels (copied); rows are stride bytes apart. Before the first run only. */
NS_NODISCARD ns_status ns_engine_set_content(ns_engine* engine, const uint8_t* pixels, int32_t width, int32_t height,
                                             int32_t stride, ns_pixel_format format);
NS_NODISCARD ns_status ns_engine_set_content_file(ns_engine* engine, const char* path);

/* Adds a style image with a blend weight (weights are normalized to sum 1). Before the first run only. */
NS_NODISCARD ns_status ns_engine_add_style(ns_engine* engine, const uint8_t* pixels, int32_t width, int32_t height,
                                           int32_t stride, ns_pixel_format format, double weight);
NS_NODISCARD ns_status ns_engine_add_style_file(ns_engine* engine, const char* path, double weight);

/* Runs up to `iterations` more iterations; progress may be NULL. The first call also builds the network and computes
 * the targets before its first iteration, and so before its first progress call: seconds on a CPU with a large style
 * image, which the callback cannot cut short. NS_ERROR_DIVERGED when the loss became NaN or
 * infinite (the run stops there); NS_ERROR_BAD_INPUT when the starting image's loss is already not finite, which no
 * learning rate can help (a loss weight so large that the numbers overflow; ns_last_error() names it). In a sweep a
 * rate that diverges stops alone and the others go on (ns_engine_get_rate_stop_reason): NS_ERROR_DIVERGED once no
 * rate runs and one of them diverged; where none runs and none diverged (all set aside), NS_OK with nothing run. */
NS_NODISCARD ns_status ns_engine_run(ns_engine* engine, int32_t iterations, ns_progress_fn progress, void* user_data);

/* The output size (known once the content is set). */
NS_NODISCARD ns_status ns_engine_get_size(const ns_engine* engine, int32_t* width, int32_t* height);

/* The device the engine runs on, e.g. "CPU (ONNX Runtime 1.31.0, 2 threads) (CUDA not used: …)" when
 * NS_DEVICE_AUTO fell back to the CPU. Writes it into the caller's buffer as UTF-8, NUL-terminated and cut at a
 * character boundary to fit `capacity` bytes; *length (may be NULL) receives its whole length in bytes without the
 * NUL, so a second call with a buffer of *length + 1 bytes gets all of it. The device is chosen by the first
 * ns_engine_run (or ns_engine_resume); before that, NS_ERROR_INVALID_STATE. */
NS_NODISCARD ns_status ns_engine_get_device(const ns_engine* engine, char* buffer, int32_t capacity, int32_t* length);

/* Iterations completed so far. */
NS_NODISCARD ns_status ns_engine_get_iteration(const ns_engine* engine, int32_t* iteration);

/* Copies the loss history, oldest row first (after a resume, the checkpoint's rows too), into records[0..capacity)
 * and sets *count (may be NULL) to the number of rows there are: call with capacity 0 and records NULL to learn it,
 * then again with a buffer that large. Empty for a created engine until its first run. Added in 0.7. */
NS_NODISCARD ns_status ns_engine_get_loss_history(const ns_engine* engine, ns_loss_record* records, int32_t capacity, int32_t* count);

/* How much the lowest total loss so far fell over the last `window` iterations, in percent of the lowest a window
 * earlier (0 where they found no new low, as where a learning rate too high makes the loss swing): what the command
 * line's --plateau PCT:window compares with PCT to end a run (e.g. 1% over 100 iterations), so a caller can stop
 * running once more iterations stop paying. Counts rows across a resume.
 * NS_ERROR_INVALID_STATE while the history does not reach back `window` iterations, and after a divergence (the
 * loss is not finite). Added in 0.7. */
NS_NODISCARD ns_status ns_engine_get_recent_gain(const ns_engine* engine, int32_t window, double* percent);

/* Writes the current image into a caller-owned buffer of exactly the output's width and height. */
NS_NODISCARD ns_status ns_engine_read_image(const ns_engine* engine, uint8_t* pixels, int32_t width, int32_t height,
                                            int32_t stride, ns_pixel_format format);

/* As ns_engine_read_image, the image of the lowest total loss so far (at a learning rate that makes the loss swing,
 * better than the current one, from which the run goes on), and *iteration (may be NULL) its iteration; a resumed
 * engine's includes the checkpoint's. NS_ERROR_INVALID_STATE before the first run, and for an engine resumed from a
 * checkpoint made before 0.8 (which kept none) until it runs. Added in 0.8. */
NS_NODISCARD ns_status ns_engine_read_best_image(const ns_engine* engine, uint8_t* pixels, int32_t width, int32_t height,
                                                 int32_t stride, ns_pixel_format format, int32_t* iteration);

/* As ns_engine_read_image, in the content image's colours: the image's luma with the content's chroma (JPEG's YCbCr),
 * what the command line's --original-colors saves. Needs the content image: the one set, or the one a resumed
 * checkpoint holds (this library's keep it since 0.6, a command-line render's only with --original-colors); otherwise
 * NS_ERROR_INVALID_STATE. Added in 0.5. */
NS_NODISCARD ns_status ns_engine_read_image_in_content_colors(const ns_engine* engine, uint8_t* pixels, int32_t width, int32_t height,
                                                              int32_t stride, ns_pixel_format format);

/* The engine's learning rates, in the order given: copies them into rates[0..capacity) and sets *count (may be NULL)
 * to how many there are (1 for an engine of one rate); call with capacity 0 and rates NULL to learn it. Added in 0.10. */
NS_NODISCARD ns_status ns_engine_get_rates(const ns_engine* engine, double* rates, int32_t capacity, int32_t* count);

/* Why learning rate `learning_rate` stopped, e.g. "diverged at iteration 12" or "set aside at iteration 40", or ""
 * while it runs; written as ns_engine_get_device writes. NS_ERROR_BAD_INPUT for a rate the engine does not run
 * (ns_last_error() lists those it does), as for every *_rate_* function. Added in 0.10. */
NS_NODISCARD ns_status ns_engine_get_rate_stop_reason(const ns_engine* engine, double learning_rate, char* buffer, int32_t capacity,
                                                      int32_t* length);

/* Stops learning rate `learning_rate` where its loss was last measured while the sweep's other rates go on (one that
 * diverges or no longer pays saves its share of every iteration); its images stay readable, a checkpoint keeps it,
 * and ns_engine_resume_rate continues it alone. Harmless for a rate stopped already; NS_ERROR_INVALID_STATE before
 * the first run. Added in 0.10. */
NS_NODISCARD ns_status ns_engine_set_aside_rate(ns_engine* engine, double learning_rate);

/* The per-rate forms of the reads above, for a sweep (added in 0.10): each as the function of the same name without
 * "rate_", of learning rate `learning_rate`. */
NS_NODISCARD ns_status ns_engine_read_rate_image(const ns_engine* engine, double learning_rate, uint8_t* pixels, int32_t width,
                                                 int32_t height, int32_t stride, ns_pixel_format format);
NS_NODISCARD ns_status ns_engine_read_rate_best_image(const ns_engine* engine, double learning_rate, uint8_t* pixels, int32_t width,
                                                      int32_t height, int32_t stride, ns_pixel_format format, int32_t* iteration);
NS_NODISCARD ns_status ns_engine_read_rate_image_in_content_colors(const ns_engine* engine, double learning_rate, uint8_t* pixels,
                                                                   int32_t width, int32_t height, int32_t stride, ns_pixel_format format);
NS_NODISCARD ns_status ns_engine_get_rate_loss_history(const ns_engine* engine, double learning_rate, ns_loss_record* records,
                                                       int32_t capacity, int32_t* count);
NS_NODISCARD ns_status ns_engine_get_rate_recent_gain(const ns_engine* engine, double learning_rate, int32_t window, double* percent);

/* Writes the whole state to a file (atomically), every rate's, with the content image since 0.6. A sweep saved as
 * FOLDER/sweep.ckpt is one the command line takes further with its reports: `neuralstyle sweep --resume FOLDER`. */
NS_NODISCARD ns_status ns_engine_save_checkpoint(const ns_engine* engine, const char* path);

/* Frees the engine and everything it holds. NULL is accepted; releasing twice is harmless. */
void ns_engine_release(ns_engine* engine);

#ifdef __cplusplus
}
#endif

#endif /* NEURALSTYLE_H */
